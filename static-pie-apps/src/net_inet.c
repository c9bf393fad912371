/* net_inet: TCP and UDP over loopback (127.0.0.1 and ::1) as Linux does them.
 *
 *   net_inet [SECTION]     sections: tcp refused nonblock udp v6 errors reset
 *                          epoll edge flags limits opts big relay ifaces
 *                          procnet udpfamily linger pktinfo bindopts raw
 *   net_inet churn N       N connections opened, used and closed in turn
 *
 * tcp       listen/connect/accept, data both ways, names of each end, shutdown
 *           and EOF, poll events at each step
 * refused   connect to a port nobody listens on: ECONNREFUSED, blocking and
 *           not (EINPROGRESS, then POLLERR and SO_ERROR)
 * nonblock  non-blocking connect and accept: EINPROGRESS, EALREADY, EISCONN,
 *           EAGAIN
 * udp       datagrams: addresses, connect, MSG_TRUNC, EDESTADDRREQ, EMSGSIZE,
 *           empty datagrams, MSG_PEEK
 * v6        ::1 for TCP and UDP, a dual-stack listener taking an IPv4 client
 *           (v4-mapped address), IPV6_V6ONLY (IPv4 clients refused, or taken by
 *           an IPv4 listener on the same port)
 * errors    EADDRINUSE, SO_REUSEADDR, EADDRNOTAVAIL, EINVAL, ENOTCONN, EPIPE,
 *           EAFNOSUPPORT, EPROTONOSUPPORT, ESOCKTNOSUPPORT
 * reset     close with unread data and SO_LINGER 0 reset the peer
 *           (ECONNRESET); writing to a closed peer (EPIPE)
 * linger    close with SO_LINGER and a timeout waits until the peer has
 *           acknowledged everything, or the timeout passed; without, at once;
 *           the peer gets every byte either way
 * epoll     edge-triggered epoll on TCP: one event per arrival, EPOLLRDHUP
 * edge      edge-triggered epoll reports changes, not states (partial reads,
 *           writes, UDP datagrams); one-shot re-arming; EPOLLHUP, EPOLLERR and
 *           EPOLLRDHUP after shutdowns, resets and refused connects; a socket
 *           closed while another thread sleeps in epoll_wait closes at once
 * flags     MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, MSG_NOSIGNAL (and SIGPIPE),
 *           SO_RCVTIMEO/SO_SNDTIMEO (a write that times out), SO_LINGER,
 *           IPV6_V6ONLY, TCP_NODELAY, TCP_KEEPIDLE, IP_TOS and IPV6_TCLASS
 *           values; sendmmsg and recvmmsg on UDP
 * limits    floods end in Linux's errors: refused connects, more clients than
 *           the backlog, no descriptor left for a socket or an accept
 * opts      TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE, IP_TOS, buffer sizes; the
 *           TCP, IP and socket options kept as set, with Linux's bounds
 * big       4 MiB each way between a parent and a forked child
 * relay     16 MiB from a writer through a non-blocking relay (64 KiB reads
 *           and writes) to a reader, over two connections
 * ifaces    the loopback interface as getifaddrs, if_nameindex, the SIOCGIF*
 *           ioctls and raw NETLINK_ROUTE link, address and route dumps show
 *           it, and their errors
 * procnet   /proc/net/tcp, tcp6, udp, udp6 and unix: each socket's line (found
 *           by its inode) with addresses, state and queues, line widths;
 *           /proc/self/net; the protocols sockstat and sockstat6 count
 * pktinfo   IP_PKTINFO and IPV6_RECVPKTINFO: each datagram's interface and
 *           destination as control messages, on IPv4 and dual-stack sockets,
 *           and a control buffer too small for them (MSG_CTRUNC)
 * bindopts  IP_FREEBIND and IPV6_FREEBIND (bind to an address that is not
 *           local), IP_BIND_ADDRESS_NO_PORT (the port picked at connect or
 *           the first datagram; such a bind may be made again)
 * raw       a raw ICMP socket (what ping uses as root): echo requests to
 *           127.0.0.1 come back with their IP header (the request itself and
 *           the reply), names, options, ICMP_FILTER, connect, bind, MSG_TRUNC,
 *           FIONREAD, EPERM without CAP_NET_RAW */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdint.h>
#include <time.h>
#include <sys/resource.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_arp.h>
#if __has_include(<linux/rtnetlink.h>)
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#else
/* musl ships no kernel headers: the part of the netlink ABI used here. */
struct sockaddr_nl { unsigned short nl_family, nl_pad; uint32_t nl_pid, nl_groups; };
struct nlmsghdr { uint32_t nlmsg_len; uint16_t nlmsg_type, nlmsg_flags; uint32_t nlmsg_seq, nlmsg_pid; };
struct nlmsgerr { int error; struct nlmsghdr msg; };
struct rtattr { unsigned short rta_len, rta_type; };
struct ifinfomsg { unsigned char ifi_family, ifi_pad; unsigned short ifi_type; int ifi_index; unsigned ifi_flags, ifi_change; };
struct ifaddrmsg { uint8_t ifa_family, ifa_prefixlen, ifa_flags, ifa_scope; uint32_t ifa_index; };
#define NETLINK_ROUTE 0
#define NLM_F_REQUEST 1
#define NLM_F_DUMP 0x300
#define NLMSG_ERROR 2
#define NLMSG_DONE 3
#define RTM_NEWLINK 16
#define RTM_GETLINK 18
#define RTM_NEWADDR 20
#define RTM_GETADDR 22
#define IFLA_IFNAME 3
#define IFLA_MTU 4
#define IFA_ADDRESS 1
#define NLMSG_ALIGN(len) (((len) + 3U) & ~3U)
#define NLMSG_HDRLEN ((int)NLMSG_ALIGN(sizeof(struct nlmsghdr)))
#define NLMSG_DATA(h) ((void *)((char *)(h) + NLMSG_HDRLEN))
#define NLMSG_NEXT(h, len) ((len) -= NLMSG_ALIGN((h)->nlmsg_len), (struct nlmsghdr *)((char *)(h) + NLMSG_ALIGN((h)->nlmsg_len)))
#define NLMSG_OK(h, len) ((len) >= (int)sizeof(struct nlmsghdr) && (h)->nlmsg_len >= sizeof(struct nlmsghdr) && (h)->nlmsg_len <= (len))
#define NLMSG_PAYLOAD(h, len) ((h)->nlmsg_len - NLMSG_ALIGN(NLMSG_HDRLEN + (len)))
#define RTA_ALIGN(len) (((len) + 3U) & ~3U)
#define RTA_OK(rta, len) ((len) >= (int)sizeof(struct rtattr) && (rta)->rta_len >= sizeof(struct rtattr) && (rta)->rta_len <= (len))
#define RTA_NEXT(rta, attrlen) ((attrlen) -= RTA_ALIGN((rta)->rta_len), (struct rtattr *)((char *)(rta) + RTA_ALIGN((rta)->rta_len)))
#define RTA_DATA(rta) ((void *)((char *)(rta) + RTA_ALIGN(sizeof(struct rtattr))))
#define IFLA_RTA(r) ((struct rtattr *)((char *)(r) + NLMSG_ALIGN(sizeof(struct ifinfomsg))))
#define IFLA_PAYLOAD(n) NLMSG_PAYLOAD(n, sizeof(struct ifinfomsg))
#define IFA_RTA(r) ((struct rtattr *)((char *)(r) + NLMSG_ALIGN(sizeof(struct ifaddrmsg))))
#define IFA_PAYLOAD(n) NLMSG_PAYLOAD(n, sizeof(struct ifaddrmsg))
struct rtmsg { unsigned char rtm_family, rtm_dst_len, rtm_src_len, rtm_tos, rtm_table, rtm_protocol, rtm_scope, rtm_type; unsigned rtm_flags; };
#define RTM_NEWROUTE 24
#define RTM_GETROUTE 26
#define RTA_DST 1
#define RTA_OIF 4
#define RTA_PRIORITY 6
#define RTA_PREFSRC 7
#define RTA_TABLE 15
#define RTM_RTA(r) ((struct rtattr *)((char *)(r) + NLMSG_ALIGN(sizeof(struct rtmsg))))
#define RTM_PAYLOAD(n) NLMSG_PAYLOAD(n, sizeof(struct rtmsg))
#endif
#include <sys/ioctl.h>
#include "net_common.h"

static struct sockaddr_in lo4(uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static uint16_t port_of(int fd)
{
    struct sockaddr_storage ss;
    socklen_t l = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* An address without its port (ports are chosen by the kernel). */
static const char *host_text(const struct sockaddr *sa, socklen_t len)
{
    static char buf[96];
    char h[64];
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, h, sizeof h);
    else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, h, sizeof h);
    else {
        snprintf(buf, sizeof buf, "family %d len %u", sa->sa_family, (unsigned)len);
        return buf;
    }
    snprintf(buf, sizeof buf, "%s (len %u)", h, (unsigned)len);
    return buf;
}

static void show_names(const char *what, int fd)
{
    struct sockaddr_storage a, b;
    socklen_t la = sizeof a, lb = sizeof b;
    int r1 = getsockname(fd, (struct sockaddr *)&a, &la);
    int r2 = getpeername(fd, (struct sockaddr *)&b, &lb);
    printf("%s: name %s", what, r1 < 0 ? errname(errno) : host_text((struct sockaddr *)&a, la));
    printf(", peer %s\n", r2 < 0 ? errname(errno) : host_text((struct sockaddr *)&b, lb));
}

/* A listener on 127.0.0.1, an ephemeral port. */
static int listener4(int backlog, uint16_t *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = lo4(0);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, backlog) < 0) {
        printf("listener: %s\n", errname(errno));
        exit(1);
    }
    *port = port_of(s);
    return s;
}

/* A port nobody uses: bound by a socket that is then closed. */
static uint16_t free_port(int type)
{
    int s = socket(AF_INET, type, 0);
    struct sockaddr_in a = lo4(0);
    bind(s, (struct sockaddr *)&a, sizeof a);
    uint16_t p = port_of(s);
    close(s);
    return p;
}

static int connect4(uint16_t port)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo4(port);
    if (connect(c, (struct sockaddr *)&a, sizeof a) < 0) {
        printf("connect: %s\n", errname(errno));
        close(c);
        return -1;
    }
    return c;
}

/* ------------------------------------------------------------------- tcp -- */

static void tcp(void)
{
    uint16_t port;
    int ls = listener4(8, &port);
    show_poll("listener", ls);
    printf("SO_ACCEPTCONN %d SO_TYPE %d SO_PROTOCOL %d\n", sockopt_int(ls, SOL_SOCKET, SO_ACCEPTCONN),
           sockopt_int(ls, SOL_SOCKET, SO_TYPE), sockopt_int(ls, SOL_SOCKET, SO_PROTOCOL));
    int fresh = socket(AF_INET, SOCK_STREAM, 0);
    show_poll("unconnected", fresh);
    show_names("unconnected", fresh);
    close(fresh);
    int c = connect4(port);
    show_poll("listener with a connection", ls);
    struct sockaddr_in peer;
    socklen_t pl = sizeof peer;
    int s = accept(ls, (struct sockaddr *)&peer, &pl);
    printf("accept: %s, peer %s, peer port is the client's %s\n", res(s), host_text((struct sockaddr *)&peer, pl),
           yesno(ntohs(peer.sin_port) == port_of(c)));
    show_names("client", c);
    show_names("server", s);
    printf("server's port is the listener's: %s\n", yesno(port_of(s) == port));
    show_poll("client", c);
    show_poll("server", s);
    printf("write: %zd\n", write(c, "hello", 5));
    show_poll("server after a write", s);
    int avail = -1;
    ioctl(s, FIONREAD, &avail);
    printf("FIONREAD: %d\n", avail);
    char buf[64];
    ssize_t n = recv(s, buf, sizeof buf, MSG_PEEK);
    printf("peek: %zd\n", n);
    n = read(s, buf, sizeof buf);
    printf("read: %zd '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
    write(s, "world", 5);
    n = read(c, buf, sizeof buf);
    printf("client read: %zd '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
    printf("shutdown(SHUT_WR): %s\n", res(shutdown(c, SHUT_WR)));
    n = read(s, buf, sizeof buf);
    printf("server read after the client's SHUT_WR: %zd\n", n);
    show_poll("server", s);
    show_poll("client", c);
    write(s, "more", 4);
    n = read(c, buf, sizeof buf);
    printf("client still reads: %zd\n", n);
    close(s);
    n = read(c, buf, sizeof buf);
    printf("client read after the server's close: %zd\n", n);
    show_poll("client", c);
    close(c);
    /* Several clients, accepted in order. */
    int cs[3];
    for (int i = 0; i < 3; i++)
        cs[i] = connect4(port);
    for (int i = 0; i < 3; i++) {
        pl = sizeof peer;
        int a = accept(ls, (struct sockaddr *)&peer, &pl);
        printf("accepted client %d: %s\n", i, yesno(a >= 0 && ntohs(peer.sin_port) == port_of(cs[i])));
        close(a);
        close(cs[i]);
    }
    close(ls);
}

/* --------------------------------------------------------------- refused -- */

static void refused(void)
{
    uint16_t p = free_port(SOCK_STREAM);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo4(p);
    printf("blocking connect: %s\n", res(connect(c, (struct sockaddr *)&a, sizeof a)));
    printf("SO_ERROR after: %d\n", sockopt_int(c, SOL_SOCKET, SO_ERROR));
    printf("connect again: %s\n", res(connect(c, (struct sockaddr *)&a, sizeof a)));
    close(c);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    printf("non-blocking connect: %s\n", res(connect(c, (struct sockaddr *)&a, sizeof a)));
    struct pollfd pf = {c, POLLOUT, 0};
    int r = poll(&pf, 1, 5000);
    printf("poll: %d %s\n", r, evnames((unsigned)pf.revents));
    show_poll("all events", c);
    int e = sockopt_int(c, SOL_SOCKET, SO_ERROR);
    printf("SO_ERROR: %s\n", e > 0 ? errname(e) : "0");
    printf("SO_ERROR again: %d\n", sockopt_int(c, SOL_SOCKET, SO_ERROR));
    printf("connect after reading SO_ERROR: %s\n", res(connect(c, (struct sockaddr *)&a, sizeof a)));
    close(c);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    poll(&pf, 1, 5000);
    printf("connect without reading SO_ERROR: %s\n", res(connect(c, (struct sockaddr *)&a, sizeof a)));
    close(c);
    /* UDP: a connected socket is told too (ICMP port unreachable). */
}

/* -------------------------------------------------------------- nonblock -- */

static void nonblock(void)
{
    uint16_t port;
    int ls = listener4(4, &port);
    set_nonblock(ls, 1);
    printf("accept with nothing waiting: %s\n", res(accept(ls, NULL, NULL)));
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = lo4(port);
    printf("connect: %s\n", res(connect(c, (struct sockaddr *)&a, sizeof a)));
    struct pollfd pf = {c, POLLOUT, 0};
    int r = poll(&pf, 1, 5000);
    printf("poll: %d %s\n", r, evnames((unsigned)pf.revents));
    printf("SO_ERROR: %d\n", sockopt_int(c, SOL_SOCKET, SO_ERROR));
    printf("connect again: %s\n", res(connect(c, (struct sockaddr *)&a, sizeof a)));
    printf("and again: %s\n", res(connect(c, (struct sockaddr *)&a, sizeof a)));
    struct pollfd lp = {ls, POLLIN, 0};
    r = poll(&lp, 1, 5000);
    printf("listener poll: %d %s\n", r, evnames((unsigned)lp.revents));
    int s = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
    printf("accept4: %s, O_NONBLOCK %s\n", res(s), yesno(fcntl(s, F_GETFL) & O_NONBLOCK));
    char buf[8];
    printf("read with no data: %s\n", res(read(s, buf, sizeof buf)));
    printf("recv MSG_DONTWAIT on a blocking client: %s\n", res(recv(c, buf, sizeof buf, MSG_DONTWAIT)));
    /* Fill the connection until writes would block. */
    static char chunk[65536];
    long total = 0;
    for (int i = 0; i < 1000; i++) {
        ssize_t w = write(c, chunk, sizeof chunk);
        if (w < 0) {
            printf("writes stop with %s after more than 64 KiB: %s\n", errname(errno), yesno(total > 65536));
            break;
        }
        total += w;
    }
    show_poll("full writer", c);
    /* Everything written arrives (some may still be on its way when a read
     * first finds nothing: wait for readiness then). */
    long got = 0;
    while (got < total) {
        ssize_t k = read(s, chunk, sizeof chunk);
        if (k > 0) {
            got += k;
            continue;
        }
        struct pollfd rp = {s, POLLIN, 0};
        if (k == 0 || errno != EAGAIN || poll(&rp, 1, 10000) <= 0)
            break;
    }
    printf("the reader drains what was written: %s\n", yesno(got == total));
    pf.revents = 0;
    r = poll(&pf, 1, 5000);
    printf("writer poll after draining: %d %s\n", r, evnames((unsigned)pf.revents));
    close(s);
    close(c);
    close(ls);
}

/* ------------------------------------------------------------------- udp -- */

static void udp(void)
{
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in la = lo4(0);
    printf("bind: %s\n", res(bind(a, (struct sockaddr *)&la, sizeof la)));
    struct sockaddr_in aa = lo4(port_of(a));
    show_poll("unconnected udp", b);
    show_names("bound", a);
    show_names("unbound", b);
    printf("send without address: %s\n", res(send(b, "x", 1, 0)));
    printf("sendto: %zd\n", sendto(b, "datagram", 8, 0, (struct sockaddr *)&aa, sizeof aa));
    show_names("after sendto", b);
    printf("b got a port: %s\n", yesno(port_of(b) != 0));
    show_poll("receiver", a);
    int avail = -1;
    ioctl(a, FIONREAD, &avail);
    printf("FIONREAD: %d\n", avail);
    char buf[64];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(a, buf, 4, MSG_PEEK, (struct sockaddr *)&from, &fl);
    printf("peek(4): %zd\n", n);
    fl = sizeof from;
    n = recvfrom(a, buf, 4, 0, (struct sockaddr *)&from, &fl);
    printf("recvfrom(4): %zd '%.*s' from %s, port is b's %s\n", n, (int)(n > 0 ? n : 0), buf,
           host_text((struct sockaddr *)&from, fl), yesno(ntohs(from.sin_port) == port_of(b)));
    printf("the rest was dropped: %s\n", res(recv(a, buf, sizeof buf, MSG_DONTWAIT)));
    sendto(b, "0123456789", 10, 0, (struct sockaddr *)&aa, sizeof aa);
    struct iovec iov = {buf, 3};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    n = recvmsg(a, &mh, MSG_TRUNC);
    printf("recvmsg MSG_TRUNC: %zd%s\n", n, mh.msg_flags & MSG_TRUNC ? " MSG_TRUNC" : "");
    printf("empty datagram: %zd\n", sendto(b, "", 0, 0, (struct sockaddr *)&aa, sizeof aa));
    n = recv(a, buf, sizeof buf, 0);
    printf("received: %zd\n", n);
    static char big[70000];
    printf("65507 bytes: %zd\n", sendto(b, big, 65507, 0, (struct sockaddr *)&aa, sizeof aa));
    n = recv(a, big, sizeof big, 0);
    printf("received: %zd\n", n);
    printf("65508 bytes: %s\n", res(sendto(b, big, 65508, 0, (struct sockaddr *)&aa, sizeof aa)));
    /* Connected: only the peer's datagrams arrive. */
    printf("connect: %s\n", res(connect(b, (struct sockaddr *)&aa, sizeof aa)));
    show_names("connected", b);
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ba = lo4(port_of(b));
    sendto(c, "stranger", 8, 0, (struct sockaddr *)&ba, sizeof ba);
    sendto(a, "peer", 4, 0, (struct sockaddr *)&ba, sizeof ba);
    n = recv(b, buf, sizeof buf, 0);
    printf("connected socket received: %zd '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
    printf("then: %s\n", res(recv(b, buf, sizeof buf, MSG_DONTWAIT)));
    printf("send: %zd\n", send(b, "via connect", 11, 0));
    n = recv(a, buf, sizeof buf, 0);
    printf("a got %zd\n", n);
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    printf("disconnect: %s\n", res(connect(b, &unspec, sizeof unspec)));
    printf("getpeername after: %s\n", res(getpeername(b, (struct sockaddr *)&from, &fl)));
    printf("listen on udp: %s\n", res(listen(a, 1)));
    printf("accept on udp: %s\n", res(accept(a, NULL, NULL)));
    printf("shutdown unconnected udp: %s\n", res(shutdown(a, SHUT_RDWR)));
    close(a);
    close(b);
    close(c);
}

/* -------------------------------------------------------------------- v6 -- */

static void v6(void)
{
    int ls = socket(AF_INET6, SOCK_STREAM, 0);
    printf("IPV6_V6ONLY default: %d\n", sockopt_int(ls, IPPROTO_IPV6, IPV6_V6ONLY));
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    printf("bind [::]: %s\n", res(bind(ls, (struct sockaddr *)&a, sizeof a)));
    listen(ls, 4);
    uint16_t port = port_of(ls);
    show_names("listener", ls);
    /* An IPv6 client on ::1. */
    int c6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    printf("connect [::1]: %s\n", res(connect(c6, (struct sockaddr *)&to, sizeof to)));
    struct sockaddr_storage peer;
    socklen_t pl = sizeof peer;
    int s6 = accept(ls, (struct sockaddr *)&peer, &pl);
    printf("accept: %s peer %s\n", res(s6), host_text((struct sockaddr *)&peer, pl));
    show_names("v6 client", c6);
    write(c6, "six", 3);
    char buf[16];
    ssize_t n = read(s6, buf, sizeof buf);
    printf("read: %zd\n", n);
    /* An IPv4 client of the dual-stack listener. */
    int c4 = connect4(port);
    pl = sizeof peer;
    int s4 = accept(ls, (struct sockaddr *)&peer, &pl);
    printf("accept an IPv4 client: %s peer %s\n", res(s4), host_text((struct sockaddr *)&peer, pl));
    show_names("its server end", s4);
    show_names("the IPv4 client", c4);
    close(s4);
    close(c4);
    close(s6);
    close(c6);
    close(ls);
    /* IPV6_V6ONLY: no IPv4 clients. */
    ls = socket(AF_INET6, SOCK_STREAM, 0);
    printf("set IPV6_V6ONLY: %s\n", res(setsockopt(ls, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one)));
    /* A port no IPv4 socket holds (an ephemeral v6-only bind may pick one that a
     * socket of an earlier section still holds for IPv4). */
    a.sin6_port = htons(free_port(SOCK_STREAM));
    bind(ls, (struct sockaddr *)&a, sizeof a);
    printf("set IPV6_V6ONLY after bind: %s\n", res(setsockopt(ls, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one)));
    listen(ls, 4);
    port = port_of(ls);
    int p4 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in l4 = lo4(port);
    printf("IPv4 bind of the v6-only port: %s\n", res(bind(p4, (struct sockaddr *)&l4, sizeof l4)));
    close(p4);
    /* An IPv4 client of the v6-only port: refused while no IPv4 socket listens
     * there; with one on 0.0.0.0 it is that one's, and ::1 stays the v6 one's. */
    printf("IPv4 connect to the v6-only listener: ");
    int r4 = connect4(port);
    if (r4 >= 0) {
        printf("connected\n");
        close(r4);
    }
    p4 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any4 = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
    printf("IPv4 listener on 0.0.0.0 at the same port: %s\n", res(bind(p4, (struct sockaddr *)&any4, sizeof any4)));
    listen(p4, 4);
    for (int family = 4; family <= 6; family += 2) {
        int c = family == 4 ? connect4(port) : socket(AF_INET6, SOCK_STREAM, 0);
        if (family == 6) {
            to.sin6_port = htons(port);
            printf("connect [::1]: %s\n", res(connect(c, (struct sockaddr *)&to, sizeof to)));
        }
        struct pollfd pf[2] = {{ls, POLLIN, 0}, {p4, POLLIN, 0}};
        poll(pf, 2, 2000);
        int on4 = (pf[1].revents & POLLIN) != 0, on6 = (pf[0].revents & POLLIN) != 0;
        pl = sizeof peer;
        int a2 = accept(on4 ? p4 : ls, (struct sockaddr *)&peer, &pl);
        printf("IPv%d client: ready on the IPv4 listener %s, on the v6-only one %s; accepted peer %s\n", family,
               on4 ? "yes" : "no", on6 ? "yes" : "no", a2 < 0 ? errname(errno) : host_text((struct sockaddr *)&peer, pl));
        if (a2 >= 0)
            close(a2);
        if (c >= 0)
            close(c);
    }
    close(p4);
    close(ls);
    /* UDP over ::1. */
    int u1 = socket(AF_INET6, SOCK_DGRAM, 0), u2 = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 ua = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bind(u1, (struct sockaddr *)&ua, sizeof ua);
    ua.sin6_port = htons(port_of(u1));
    printf("udp6 sendto: %zd\n", sendto(u2, "v6 datagram", 11, 0, (struct sockaddr *)&ua, sizeof ua));
    pl = sizeof peer;
    n = recvfrom(u1, buf, sizeof buf, 0, (struct sockaddr *)&peer, &pl);
    printf("udp6 recvfrom: %zd from %s\n", n, host_text((struct sockaddr *)&peer, pl));
    static char big6[65600];
    printf("udp6 65528 bytes: %s\n", res(sendto(u2, big6, 65528, 0, (struct sockaddr *)&ua, sizeof ua)));
    close(u1);
    close(u2);
}

/* ---------------------------------------------------------------- errors -- */

static void errors(void)
{
    uint16_t port;
    int ls = listener4(4, &port);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo4(port);
    printf("bind a listening port: %s\n", res(bind(s, (struct sockaddr *)&a, sizeof a)));
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    printf("with SO_REUSEADDR: %s\n", res(bind(s, (struct sockaddr *)&a, sizeof a)));
    close(s);
    /* Two non-listening sockets with SO_REUSEADDR share a port; one may listen. */
    uint16_t p = free_port(SOCK_STREAM);
    int x = socket(AF_INET, SOCK_STREAM, 0), y = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(x, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(y, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in pa = lo4(p);
    printf("x bind: %s\n", res(bind(x, (struct sockaddr *)&pa, sizeof pa)));
    printf("y bind the same port: %s\n", res(bind(y, (struct sockaddr *)&pa, sizeof pa)));
    printf("x listen: %s\n", res(listen(x, 1)));
    printf("y listen: %s\n", res(listen(y, 1)));
    close(x);
    close(y);
    int z = socket(AF_INET, SOCK_STREAM, 0), w = socket(AF_INET, SOCK_STREAM, 0);
    printf("z bind: %s\n", res(bind(z, (struct sockaddr *)&pa, sizeof pa)));
    printf("w bind the same port: %s\n", res(bind(w, (struct sockaddr *)&pa, sizeof pa)));
    struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons(p)};
    printf("w bind 0.0.0.0 on it: %s\n", res(bind(w, (struct sockaddr *)&any, sizeof any)));
    printf("z bind again: %s\n", res(bind(z, (struct sockaddr *)&pa, sizeof pa)));
    close(z);
    close(w);
    s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in far = {.sin_family = AF_INET, .sin_port = 0};
    inet_pton(AF_INET, "192.0.2.1", &far.sin_addr);
    printf("bind 192.0.2.1: %s\n", res(bind(s, (struct sockaddr *)&far, sizeof far)));
    printf("bind addrlen 8: %s\n", res(bind(s, (struct sockaddr *)&a, 8)));
    struct sockaddr_in6 six = {.sin6_family = AF_INET6};
    printf("bind an AF_INET6 address: %s\n", res(bind(s, (struct sockaddr *)&six, sizeof a)));
    printf("recv unconnected: %s\n", res(recv(s, (char[4]){0}, 4, MSG_DONTWAIT)));
    signal(SIGPIPE, SIG_IGN);
    printf("send unconnected: %s\n", res(send(s, "x", 1, 0)));
    signal(SIGPIPE, SIG_DFL);
    printf("shutdown unconnected: %s\n", res(shutdown(s, SHUT_WR)));
    printf("accept unlistened: %s\n", res(accept(s, NULL, NULL)));
    printf("getpeername unconnected: %s\n", res(getpeername(s, (struct sockaddr *)&a, &(socklen_t){sizeof a})));
    printf("connect addrlen 4: %s\n", res(connect(s, (struct sockaddr *)&a, 4)));
    printf("connect AF_INET6 address: %s\n", res(connect(s, (struct sockaddr *)&six, sizeof six)));
    close(s);
    printf("socket SOCK_SEQPACKET: %s\n", res(socket(AF_INET, SOCK_SEQPACKET, 0)));
    printf("socket TCP with IPPROTO_UDP: %s\n", res(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP)));
    printf("socket UDP with IPPROTO_TCP: %s\n", res(socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP)));
    int c = connect4(port);
    int srv = accept(ls, NULL, NULL);
    printf("connect a connected socket: %s\n", res(connect(c, (struct sockaddr *)&a, sizeof a)));
    printf("bind a connected socket: %s\n", res(bind(c, (struct sockaddr *)&pa, sizeof pa)));
    printf("listen on a connected socket: %s\n", res(listen(c, 1)));
    printf("shutdown how 5: %s\n", res(shutdown(c, 5)));
    printf("sendto with an address on a connected socket: %zd\n",
           sendto(c, "x", 1, 0, (struct sockaddr *)&far, sizeof far));
    close(srv);
    close(c);
    close(ls);
}

/* ----------------------------------------------------------------- reset -- */

static void reset(void)
{
    uint16_t port;
    int ls = listener4(4, &port);
    char buf[16];
    /* Unread data at close: a reset. */
    int c = connect4(port);
    int s = accept(ls, NULL, NULL);
    write(c, "unread", 6);
    usleep(10000);
    close(s);
    usleep(10000);
    show_poll("client after the reset", c);
    printf("client read: %s\n", res(read(c, buf, sizeof buf)));
    printf("client read again: %zd\n", read(c, buf, sizeof buf));
    close(c);
    /* SO_LINGER with a zero timeout: a reset. */
    c = connect4(port);
    s = accept(ls, NULL, NULL);
    struct linger lg = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(s);
    usleep(10000);
    printf("after SO_LINGER 0: %s\n", res(read(c, buf, sizeof buf)));
    close(c);
    /* Writing to a peer that closed: the first write goes, then EPIPE. */
    c = connect4(port);
    s = accept(ls, NULL, NULL);
    close(s);
    usleep(10000);
    printf("read: %zd\n", read(c, buf, sizeof buf));
    signal(SIGPIPE, SIG_IGN);
    printf("first write: %zd\n", write(c, "a", 1));
    usleep(10000);
    printf("second write: %s\n", res(write(c, "b", 1)));
    printf("third write: %s\n", res(write(c, "c", 1)));
    signal(SIGPIPE, SIG_DFL);
    close(c);
    /* The same in a child with SIGPIPE at its default. */
    c = connect4(port);
    s = accept(ls, NULL, NULL);
    close(s);
    pid_t ch = xfork();
    if (ch == 0) {
        usleep(10000);
        write(c, "a", 1);
        usleep(10000);
        write(c, "b", 1);
        _exit(0);
    }
    reap(ch, "child writing to a closed connection");
    close(c);
    close(ls);
}

/* ---------------------------------------------------------------- linger -- */

/* Reports a failed call and ends the probe. */
static void die(const char *what)
{
    printf("%s: %s\n", what, errname(errno));
    exit(1);
}

static long ms_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* A child that connects to `port` with a small receive buffer (so that what it
 * has not read stays unacknowledged), waits `delay_ms`, reads to end of file and
 * writes the byte count to `report`. */
static pid_t slow_reader(uint16_t port, int delay_ms, int report)
{
    pid_t ch = xfork();
    if (ch == 0) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        int small = 4096;
        setsockopt(c, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        struct sockaddr_in a = lo4(port);
        if (connect(c, (struct sockaddr *)&a, sizeof a) < 0)
            _exit(2);
        usleep((useconds_t)delay_ms * 1000);
        char buf[4096];
        long got = 0;
        ssize_t k;
        while ((k = read(c, buf, sizeof buf)) > 0)
            got += k;
        if (write(report, &got, sizeof got) != sizeof got)
            _exit(3);
        _exit(k == 0 ? 0 : 1);
    }
    return ch;
}

/* Writes to `s` without blocking until its buffers are full; the bytes written. */
static long fill(int s)
{
    int fl = fcntl(s, F_GETFL);
    fcntl(s, F_SETFL, fl | O_NONBLOCK);
    static char buf[4096];
    memset(buf, 'x', sizeof buf);
    long n = 0;
    ssize_t k;
    while ((k = write(s, buf, sizeof buf)) > 0)
        n += k;
    fcntl(s, F_SETFL, fl);
    return n;
}

/* close(2) of a connection whose peer has not read what was sent: with SO_LINGER
 * (`on`, `secs`), the reader starting after `delay_ms`. Prints how long close took
 * against the reader's delay and the linger time, and whether the reader got
 * every byte and the end of file. */
static void linger_case(int ls, uint16_t port, int on, int secs, int delay_ms)
{
    int p[2];
    if (pipe(p) < 0)
        die("pipe");
    pid_t ch = slow_reader(port, delay_ms, p[1]);
    close(p[1]);
    int s = accept(ls, NULL, NULL);
    if (s < 0)
        die("accept");
    long sent = fill(s);
    struct linger lg = {on, secs};
    if (setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0)
        die("SO_LINGER");
    long t0 = ms_now();
    int r = close(s);
    long took = ms_now() - t0;
    long got = -1;
    if (read(p[0], &got, sizeof got) != sizeof got)
        got = -1;
    close(p[0]);
    const char *when;
    if (on && secs * 1000L < delay_ms && took >= secs * 800L && took < delay_ms * 3 / 4)
        when = "after the linger time";
    else if (took < delay_ms / 2)
        when = "at once";
    else if (took >= delay_ms * 3 / 4)
        when = "once the reader had read";
    else
        when = "too early";
    printf("SO_LINGER {%d, %d}, reader after %d ms: close %d, returned %s; reader got every byte: %s\n", on, secs,
           delay_ms, r, when, got == sent && sent > 0 ? "yes" : "no");
    reap(ch, "reader");
}

static void linger(void)
{
    uint16_t port;
    int ls = listener4(4, &port);
    linger_case(ls, port, 0, 0, 800);
    linger_case(ls, port, 1, 10, 800);
    linger_case(ls, port, 1, 1, 3000);
    close(ls);
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

/* UDP by family: an IPV6_V6ONLY socket and an AF_INET socket share a port
 * (a dual bind, made in both orders); each gets only its own family's
 * datagrams, and a v6-only socket alone gets no IPv4 ones. */
static int udp_recv_text(int fd, char *buf, size_t len)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 300) <= 0)
        return snprintf(buf, len, "nothing");
    ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);
    if (n < 0)
        return snprintf(buf, len, "%s", errname(errno));
    buf[n] = 0;
    return (int)n;
}

static void udp_family_pass(int v6_first)
{
    int one = 1, v4 = -1, v6 = -1;
    uint16_t port = 0;
    for (int i = 0; i < 2; i++) {
        if ((i == 0) == (v6_first != 0)) {
            v6 = socket(AF_INET6, SOCK_DGRAM, 0);
            setsockopt(v6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
            struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_ANY_INIT};
            printf("bind v6only: %s\n", res(bind(v6, (struct sockaddr *)&a, sizeof a)));
            port = port_of(v6);
        } else {
            v4 = socket(AF_INET, SOCK_DGRAM, 0);
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
            printf("bind v4 on the port: %s\n", res(bind(v4, (struct sockaddr *)&a, sizeof a)));
            port = port_of(v4);
        }
    }
    int c4 = socket(AF_INET, SOCK_DGRAM, 0), c6 = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in t4 = lo4(port);
    struct sockaddr_in6 t6 = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    printf("send to 127.0.0.1: %zd\n", sendto(c4, "four", 4, 0, (struct sockaddr *)&t4, sizeof t4));
    printf("send to ::1: %zd\n", sendto(c6, "six", 3, 0, (struct sockaddr *)&t6, sizeof t6));
    char buf[64];
    udp_recv_text(v4, buf, sizeof buf);
    printf("AF_INET socket got: %s\n", buf);
    udp_recv_text(v6, buf, sizeof buf);
    printf("v6only socket got: %s\n", buf);
    udp_recv_text(v4, buf, sizeof buf);
    printf("AF_INET socket then: %s\n", buf);
    udp_recv_text(v6, buf, sizeof buf);
    printf("v6only socket then: %s\n", buf);
    close(v4);
    /* Alone, the v6-only socket still gets no IPv4 datagram. */
    sendto(c4, "lost", 4, 0, (struct sockaddr *)&t4, sizeof t4);
    sendto(c6, "six2", 4, 0, (struct sockaddr *)&t6, sizeof t6);
    udp_recv_text(v6, buf, sizeof buf);
    printf("v6only socket alone got: %s\n", buf);
    udp_recv_text(v6, buf, sizeof buf);
    printf("v6only socket alone then: %s\n", buf);
    close(v6);
    close(c4);
    close(c6);
}

static void udpfamily(void)
{
    printf("-- v6only socket first\n");
    udp_family_pass(1);
    printf("-- AF_INET socket first\n");
    udp_family_pass(0);
}

static void epoll_section(void)
{
    uint16_t port;
    int ls = listener4(4, &port);
    set_nonblock(ls, 1);
    int ep = epoll_create1(0);
    struct epoll_event le = {EPOLLIN | EPOLLET, {.u32 = 1}};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &le);
    show_epoll("idle listener", ep);
    int c = connect4(port);
    show_epoll("after a connect", ep);
    show_epoll("again", ep);
    int s = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
    struct epoll_event se = {EPOLLIN | EPOLLRDHUP | EPOLLET, {.u32 = 2}};
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &se);
    show_epoll("idle connection", ep);
    write(c, "a", 1);
    show_epoll("after a write", ep);
    show_epoll("again", ep);
    write(c, "b", 1);
    show_epoll("after a second write", ep);
    char buf[8];
    printf("read: %zd\n", read(s, buf, sizeof buf));
    printf("read: %s\n", res(read(s, buf, sizeof buf)));
    show_epoll("after draining", ep);
    shutdown(c, SHUT_WR);
    show_epoll("after the peer's SHUT_WR", ep);
    show_epoll("again", ep);
    /* EPOLLOUT edge-triggered: reported once while writable. */
    struct epoll_event ce = {EPOLLOUT | EPOLLET, {.u32 = 3}};
    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
    show_epoll("writable client", ep);
    show_epoll("again", ep);
    /* A blocked epoll_wait wakes for data from a child. */
    epoll_ctl(ep, EPOLL_CTL_DEL, c, NULL);
    int c2 = connect4(port);
    int s2 = accept(ls, NULL, NULL);
    struct epoll_event e2 = {EPOLLIN, {.u32 = 4}};
    epoll_ctl(ep, EPOLL_CTL_ADD, s2, &e2);
    pid_t ch = xfork();
    if (ch == 0) {
        usleep(50000);
        write(c2, "late", 4);
        _exit(0);
    }
    struct epoll_event out[4];
    int n = epoll_wait(ep, out, 4, 5000);
    printf("blocking epoll_wait: %d [%u %s]\n", n, n > 0 ? (unsigned)out[0].data.u32 : 0,
           n > 0 ? evnames(out[0].events) : "");
    reap(ch, "writer");
    close(s2);
    close(c2);
    close(s);
    close(c);
    close(ls);
    close(ep);
}

/* ------------------------------------------------------------------ edge -- */

/* Edge-triggered epoll reports a change once, never a state; and the hang-up
 * and error bits Linux reports for sockets. */
static void edge(void)
{
    uint16_t port;
    int ls = listener4(4, &port);
    int c = connect4(port);
    int s = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
    /* Small writes go out at once (Nagle would hold them for an ACK natively). */
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int ep = epoll_create1(0);
    struct epoll_event se = {EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, {.u32 = 1}};
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &se);
    show_epoll("new connection (in|out|rdhup, et)", ep);
    show_epoll("again", ep);
    write(c, "0123456789", 10);
    show_epoll("after 10 bytes", ep);
    char buf[64];
    printf("read 4: %zd\n", read(s, buf, 4));
    show_epoll("after a partial read", ep);
    write(s, "x", 1);
    show_epoll("after writing", ep);
    write(c, "abc", 3);
    show_epoll("after 3 more bytes", ep);
    printf("read: %zd\n", read(s, buf, sizeof buf));
    show_epoll("drained", ep);
    /* One-shot: one report, then nothing until EPOLL_CTL_MOD re-arms it. */
    struct epoll_event os = {EPOLLIN | EPOLLONESHOT, {.u32 = 2}};
    epoll_ctl(ep, EPOLL_CTL_MOD, s, &os);
    write(c, "d", 1);
    show_epoll("one-shot", ep);
    write(c, "e", 1);
    show_epoll("one-shot, more data", ep);
    epoll_ctl(ep, EPOLL_CTL_MOD, s, &os);
    show_epoll("re-armed", ep);
    /* Level-triggered: reported while it lasts. */
    struct epoll_event lt = {EPOLLIN | EPOLLRDHUP, {.u32 = 3}};
    epoll_ctl(ep, EPOLL_CTL_MOD, s, &lt);
    show_epoll("level", ep);
    show_epoll("level again", ep);
    read(s, buf, sizeof buf);
    shutdown(c, SHUT_WR);
    usleep(20000);
    show_epoll("peer's SHUT_WR (level)", ep);
    shutdown(s, SHUT_WR);
    usleep(20000);
    show_epoll("both ways shut", ep);
    close(s);
    close(c);
    /* A reset: unread data closed on the other end. */
    c = connect4(port);
    s = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
    struct epoll_event re = {EPOLLIN | EPOLLRDHUP | EPOLLET, {.u32 = 4}};
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &re);
    show_epoll("second connection", ep);
    write(s, "unread", 6);
    usleep(20000);
    close(c);
    usleep(20000);
    show_epoll("peer closed with unread data", ep);
    show_epoll("again", ep);
    printf("read: %s\n", res(read(s, buf, sizeof buf)));
    printf("SO_ERROR then: %d\n", sockopt_int(s, SOL_SOCKET, SO_ERROR));
    close(s);
    /* A refused non-blocking connect. */
    uint16_t dead = free_port(SOCK_STREAM);
    int r = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = lo4(dead);
    printf("connect: %s\n", res(connect(r, (struct sockaddr *)&a, sizeof a)));
    struct epoll_event ce = {EPOLLOUT | EPOLLET, {.u32 = 5}};
    epoll_ctl(ep, EPOLL_CTL_ADD, r, &ce);
    struct epoll_event out[4];
    int n = epoll_wait(ep, out, 4, 2000);
    printf("refused connect: %d [%u %s]\n", n, n > 0 ? (unsigned)out[0].data.u32 : 0,
           n > 0 ? evnames(out[0].events) : "");
    show_epoll("again", ep);
    close(r);
    /* UDP: each datagram is an edge. */
    int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = lo4(0);
    bind(u1, (struct sockaddr *)&ua, sizeof ua);
    ua = lo4(port_of(u1));
    struct epoll_event ue = {EPOLLIN | EPOLLET, {.u32 = 6}};
    epoll_ctl(ep, EPOLL_CTL_ADD, u1, &ue);
    show_epoll("udp idle", ep);
    sendto(u2, "1", 1, 0, (struct sockaddr *)&ua, sizeof ua);
    show_epoll("udp datagram", ep);
    show_epoll("again", ep);
    sendto(u2, "2", 1, 0, (struct sockaddr *)&ua, sizeof ua);
    show_epoll("udp second datagram", ep);
    recv(u1, buf, sizeof buf, 0);
    show_epoll("udp one read, one left", ep);
    close(u1);
    close(u2);
    /* A descriptor closed while another thread sleeps in epoll_wait is closed at
     * once (the peer sees its end). */
    c = connect4(port);
    s = accept(ls, NULL, NULL);
    struct epoll_event ke = {EPOLLIN, {.u32 = 7}};
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ke);
    pid_t ch = xfork();
    if (ch == 0) {
        /* Only the parent's descriptor keeps the socket; this sleep watches it. */
        close(s);
        struct epoll_event o[4];
        _exit(epoll_wait(ep, o, 4, 3000) < 0);
    }
    usleep(50000);
    epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL);
    close(s);
    set_nonblock(c, 0);
    struct timeval tv = {2, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    printf("peer of a socket closed during an epoll_wait reads: %s\n", res(read(c, buf, sizeof buf)));
    kill(ch, SIGKILL);
    reap(ch, "sleeper");
    close(c);
    close(ls);
    close(ep);
}

/* ----------------------------------------------------------------- flags -- */

static volatile sig_atomic_t sigpipes;
static void on_sigpipe(int sig)
{
    (void)sig;
    sigpipes++;
}

/* Per-call flags and the timeouts and options a server sets, on TCP and UDP. */
static void flags(void)
{
    uint16_t port;
    int ls = listener4(4, &port);
    int c = connect4(port);
    int s = accept(ls, NULL, NULL);
    char buf[64];
    /* MSG_DONTWAIT on a blocking socket; MSG_PEEK leaves the data. */
    printf("recv MSG_DONTWAIT, nothing there: %s\n", res(recv(s, buf, sizeof buf, MSG_DONTWAIT)));
    write(c, "peekaboo", 8);
    usleep(10000);
    ssize_t n = recv(s, buf, 4, MSG_PEEK);
    printf("MSG_PEEK 4: %zd %.4s\n", n, buf);
    n = recv(s, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
    printf("MSG_PEEK all: %zd %.*s\n", n, (int)(n > 0 ? n : 0), buf);
    n = recv(s, buf, sizeof buf, 0);
    printf("then recv: %zd %.*s\n", n, (int)(n > 0 ? n : 0), buf);
    /* MSG_WAITALL: the whole buffer, written in pieces by a child. */
    pid_t ch = xfork();
    if (ch == 0) {
        for (int i = 0; i < 4; i++) {
            usleep(20000);
            write(c, "abcd", 4);
        }
        _exit(0);
    }
    n = recv(s, buf, 16, MSG_WAITALL);
    printf("MSG_WAITALL 16: %zd %.16s\n", n, buf);
    reap(ch, "writer");
    /* MSG_WAITALL stops at the end of the stream. */
    write(c, "xyz", 3);
    shutdown(c, SHUT_WR);
    n = recv(s, buf, 16, MSG_WAITALL);
    printf("MSG_WAITALL at EOF: %zd\n", n);
    /* SO_RCVTIMEO and SO_SNDTIMEO: read back, and a read that times out. */
    struct timeval tv = {0, 150000}, got;
    socklen_t gl = sizeof got;
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    getsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &got, &gl);
    /* Linux keeps it in jiffies: what comes back is rounded up to the host's tick. */
    printf("SO_SNDTIMEO back: %s (len %u)\n",
           got.tv_sec == 0 && got.tv_usec >= 150000 && got.tv_usec <= 160000 ? "0.15 s" : "other", (unsigned)gl);
    tv.tv_usec = -1;
    printf("SO_RCVTIMEO with tv_usec -1: %s\n", res(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv)));
    printf("SO_RCVTIMEO too short: %s\n", res(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, 4)));
    close(c);
    close(s);
    /* A write that cannot finish before SO_SNDTIMEO: the bytes it queued, or EAGAIN. */
    c = connect4(port);
    s = accept(ls, NULL, NULL);
    tv.tv_sec = 0;
    tv.tv_usec = 200000;
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    static char lots[8 << 20];
    n = write(c, lots, sizeof lots);
    printf("8 MiB write nobody reads, SO_SNDTIMEO 0.2 s: %s\n", n > 0 && n < (ssize_t)sizeof lots ? "partial" : res(n));
    /* SO_LINGER: read back as set. */
    struct linger lg = {1, 5}, lgot;
    socklen_t ll = sizeof lgot;
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    getsockopt(c, SOL_SOCKET, SO_LINGER, &lgot, &ll);
    printf("SO_LINGER %d %d (len %u)\n", lgot.l_onoff, lgot.l_linger, (unsigned)ll);
    printf("SO_LINGER too short: %s\n", res(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, 4)));
    lg.l_onoff = 1;
    lg.l_linger = 0;
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(s);
    usleep(20000);
    /* Writing to a reset connection: EPIPE and SIGPIPE, or no signal with MSG_NOSIGNAL. */
    signal(SIGPIPE, on_sigpipe);
    n = send(c, "x", 1, MSG_NOSIGNAL);
    printf("send to a reset peer: %s", res(n));
    n = send(c, "x", 1, MSG_NOSIGNAL);
    printf(", then %s with MSG_NOSIGNAL, SIGPIPEs %d\n", res(n), (int)sigpipes);
    n = send(c, "x", 1, 0);
    printf("without MSG_NOSIGNAL: %s, SIGPIPEs %d\n", res(n), (int)sigpipes);
    signal(SIGPIPE, SIG_DFL);
    close(c);
    /* TCP_NODELAY, TCP_KEEPIDLE, IP_TOS and IPV6_V6ONLY bounds and defaults. */
    int t = socket(AF_INET6, SOCK_STREAM, 0);
    int v = 1;
    printf("IPV6_V6ONLY default %d", sockopt_int(t, IPPROTO_IPV6, IPV6_V6ONLY));
    setsockopt(t, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v);
    printf(" -> %d\n", sockopt_int(t, IPPROTO_IPV6, IPV6_V6ONLY));
    v = 2;
    int r = setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v);
    printf("TCP_NODELAY 2: %s -> %d\n", res(r), sockopt_int(t, IPPROTO_TCP, TCP_NODELAY));
    v = 32768;
    printf("TCP_KEEPIDLE 32768: %s\n", res(setsockopt(t, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v)));
    v = 32767;
    printf("TCP_KEEPIDLE 32767: %s\n", res(setsockopt(t, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v)));
    v = 0xb8;
    r = setsockopt(t, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof v);
    printf("IPV6_TCLASS 0xb8: %s -> %#x\n", res(r), sockopt_int(t, IPPROTO_IPV6, IPV6_TCLASS));
    close(t);
    t = socket(AF_INET, SOCK_STREAM, 0);
    v = 0x1ff;
    r = setsockopt(t, IPPROTO_IP, IP_TOS, &v, sizeof v);
    printf("IP_TOS 0x1ff: %s -> %#x\n", res(r), sockopt_int(t, IPPROTO_IP, IP_TOS));
    v = 0x10;
    r = setsockopt(t, IPPROTO_IP, IP_TOS, &v, 1);
    printf("IP_TOS as one byte: %s -> %#x\n", res(r), sockopt_int(t, IPPROTO_IP, IP_TOS));
    close(t);
    /* sendmmsg and recvmmsg on UDP. */
    int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = lo4(0);
    bind(u1, (struct sockaddr *)&ua, sizeof ua);
    ua = lo4(port_of(u1));
    connect(u2, (struct sockaddr *)&ua, sizeof ua);
    struct mmsghdr mm[3];
    struct iovec iov[3];
    const char *words[3] = {"one", "two!", "three"};
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) {
        iov[i].iov_base = (void *)words[i];
        iov[i].iov_len = strlen(words[i]);
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    int k = sendmmsg(u2, mm, 3, 0);
    printf("sendmmsg: %d, lengths %u %u %u\n", k, mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
    char rb[3][16];
    struct mmsghdr rm[4];
    struct iovec riov[4];
    memset(rm, 0, sizeof rm);
    for (int i = 0; i < 3; i++) {
        riov[i].iov_base = rb[i];
        riov[i].iov_len = 4;
        rm[i].msg_hdr.msg_iov = &riov[i];
        rm[i].msg_hdr.msg_iovlen = 1;
    }
    usleep(10000);
    k = recvmmsg(u1, rm, 3, MSG_DONTWAIT, NULL);
    printf("recvmmsg: %d", k);
    for (int i = 0; i < k; i++)
        printf(" [%u %.*s%s]", rm[i].msg_len, (int)rm[i].msg_len, rb[i],
               rm[i].msg_hdr.msg_flags & MSG_TRUNC ? " TRUNC" : "");
    printf("\n");
    printf("recvmmsg, nothing left: %s\n", res(recvmmsg(u1, rm, 3, MSG_DONTWAIT, NULL)));
    sendto(u2, "w", 1, 0, NULL, 0);
    k = recvmmsg(u1, rm, 3, MSG_WAITFORONE, NULL);
    printf("recvmmsg MSG_WAITFORONE: %d\n", k);
    printf("sendmmsg of none: %s\n", res(sendmmsg(u2, mm, 0, 0)));
    close(u1);
    close(u2);
    close(ls);
}

/* ---------------------------------------------------------------- limits -- */

/* Floods end in errors Linux gives, never in a fault or a hang. */
static void limits(void)
{
    /* Connections refused over and over. */
    uint16_t dead = free_port(SOCK_STREAM);
    int refused = 0, other = 0;
    for (int i = 0; i < 300; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = lo4(dead);
        if (connect(c, (struct sockaddr *)&a, sizeof a) < 0 && errno == ECONNREFUSED)
            refused++;
        else
            other++;
        close(c);
    }
    printf("300 connects to a closed port: %d ECONNREFUSED, %d other\n", refused, other);
    /* More clients than the backlog holds: the queue takes backlog + 1. */
    uint16_t port;
    int ls = listener4(2, &port);
    int cs[20], pending = 0;
    for (int i = 0; i < 20; i++) {
        cs[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        struct sockaddr_in a = lo4(port);
        int r = connect(cs[i], (struct sockaddr *)&a, sizeof a);
        if (r == 0 || errno == EINPROGRESS)
            pending++;
    }
    usleep(100000);
    set_nonblock(ls, 1);
    int got = 0, s;
    while ((s = accept(ls, NULL, NULL)) >= 0) {
        got++;
        close(s);
    }
    printf("20 connects to a backlog of 2: %d started, %d accepted at once (%s)\n", pending, got, errname(errno));
    for (int i = 0; i < 20; i++)
        close(cs[i]);
    usleep(50000);
    while ((s = accept(ls, NULL, NULL)) >= 0)
        close(s);
    set_nonblock(ls, 0);
    int c = connect4(port);
    s = accept(ls, NULL, NULL);
    printf("then the listener still serves: %s\n", yesno(c >= 0 && s >= 0 && write(c, "k", 1) == 1));
    close(c);
    close(s);
    close(ls);
    /* Out of descriptors. */
    struct rlimit old, lim;
    getrlimit(RLIMIT_NOFILE, &old);
    lim = old;
    lim.rlim_cur = 32;
    setrlimit(RLIMIT_NOFILE, &lim);
    int fds[40], n = 0, err = 0;
    for (; n < 40; n++) {
        fds[n] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[n] < 0) {
            err = errno;
            break;
        }
    }
    int a2 = -1;
    if (n > 0) {
        /* accept with no descriptor left (two freed: the listener, the client). */
        close(fds[--n]);
        if (n > 0)
            close(fds[--n]);
        uint16_t p2;
        int l2 = listener4(4, &p2);
        int c2 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        struct sockaddr_in a = lo4(p2);
        connect(c2, (struct sockaddr *)&a, sizeof a);
        usleep(20000);
        a2 = accept(l2, NULL, NULL);
        printf("sockets until the limit: %s; accept then: %s", errname(err), a2 < 0 ? errname(errno) : "OK");
        close(fds[--n]);
        a2 = accept(l2, NULL, NULL);
        printf("; with one free: %s\n", a2 < 0 ? errname(errno) : "OK");
        close(a2);
        close(c2);
        close(l2);
    }
    for (int i = 0; i < n; i++)
        close(fds[i]);
    setrlimit(RLIMIT_NOFILE, &old);
}

/* ------------------------------------------------------------------ opts -- */

static void opts(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    printf("SO_SNDBUF %d SO_RCVBUF %d\n", sockopt_int(s, SOL_SOCKET, SO_SNDBUF), sockopt_int(s, SOL_SOCKET, SO_RCVBUF));
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    printf("udp SO_SNDBUF %d SO_RCVBUF %d\n", sockopt_int(u, SOL_SOCKET, SO_SNDBUF),
           sockopt_int(u, SOL_SOCKET, SO_RCVBUF));
    int one = 1;
    printf("TCP_NODELAY %d", sockopt_int(s, IPPROTO_TCP, TCP_NODELAY));
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    printf(" -> %d\n", sockopt_int(s, IPPROTO_TCP, TCP_NODELAY));
    printf("SO_KEEPALIVE %d", sockopt_int(s, SOL_SOCKET, SO_KEEPALIVE));
    setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    printf(" -> %d\n", sockopt_int(s, SOL_SOCKET, SO_KEEPALIVE));
    printf("TCP_KEEPIDLE %d TCP_KEEPINTVL %d TCP_KEEPCNT %d\n", sockopt_int(s, IPPROTO_TCP, TCP_KEEPIDLE),
           sockopt_int(s, IPPROTO_TCP, TCP_KEEPINTVL), sockopt_int(s, IPPROTO_TCP, TCP_KEEPCNT));
    int v = 60;
    int r = setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v);
    printf("set TCP_KEEPIDLE 60: %s -> %d\n", res(r), sockopt_int(s, IPPROTO_TCP, TCP_KEEPIDLE));
    v = 0;
    printf("set TCP_KEEPIDLE 0: %s\n", res(setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v)));
    v = 0x10;
    printf("IP_TOS %d", sockopt_int(s, IPPROTO_IP, IP_TOS));
    setsockopt(s, IPPROTO_IP, IP_TOS, &v, sizeof v);
    printf(" -> %d\n", sockopt_int(s, IPPROTO_IP, IP_TOS));
    printf("IP_TTL %d\n", sockopt_int(s, IPPROTO_IP, IP_TTL));
    printf("TCP_NODELAY on udp: %s\n", res(setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one)));
    printf("IPV6_V6ONLY on AF_INET: %s\n", res(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one)));
    printf("unknown TCP option: %s\n", res(setsockopt(s, IPPROTO_TCP, 999, &one, sizeof one)));
    r = setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    printf("SO_REUSEPORT: %s -> %d\n", res(r), sockopt_int(s, SOL_SOCKET, SO_REUSEPORT));
    /* The TCP, IP and socket options kept as set, with Linux's bounds. */
    static const struct { const char *what; int level, name, value; } kept[] = {
        {"TCP_USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT, 5000},
        {"TCP_USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT, -1},
        {"TCP_CORK", IPPROTO_TCP, TCP_CORK, 1},
        {"TCP_QUICKACK", IPPROTO_TCP, TCP_QUICKACK, 0},
        {"TCP_DEFER_ACCEPT", IPPROTO_TCP, TCP_DEFER_ACCEPT, 5},
        {"TCP_FASTOPEN", IPPROTO_TCP, TCP_FASTOPEN, 5},
        {"TCP_SYNCNT", IPPROTO_TCP, TCP_SYNCNT, 0},
        {"TCP_SYNCNT", IPPROTO_TCP, TCP_SYNCNT, 3},
        {"TCP_LINGER2", IPPROTO_TCP, TCP_LINGER2, 500},
        {"TCP_WINDOW_CLAMP", IPPROTO_TCP, TCP_WINDOW_CLAMP, 10},
        {"TCP_NOTSENT_LOWAT", IPPROTO_TCP, TCP_NOTSENT_LOWAT, 100},
        {"TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG, 10},
        {"TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG, 1000},
        {"IP_MTU_DISCOVER", IPPROTO_IP, IP_MTU_DISCOVER, 9},
        {"IP_MTU_DISCOVER", IPPROTO_IP, IP_MTU_DISCOVER, 2},
        {"IP_RECVERR", IPPROTO_IP, IP_RECVERR, 1},
        {"SO_PRIORITY", SOL_SOCKET, SO_PRIORITY, 5},
        {"SO_BUSY_POLL", SOL_SOCKET, SO_BUSY_POLL, -1},
        {"SO_INCOMING_CPU", SOL_SOCKET, SO_INCOMING_CPU, 0},
    };
    int k = socket(AF_INET, SOCK_STREAM, 0);
    for (unsigned i = 0; i < sizeof kept / sizeof *kept; i++) {
        int before = sockopt_int(k, kept[i].level, kept[i].name);
        r = setsockopt(k, kept[i].level, kept[i].name, &kept[i].value, sizeof kept[i].value);
        printf("%s %d, set %d: %s -> %d\n", kept[i].what, before, kept[i].value, res(r),
               sockopt_int(k, kept[i].level, kept[i].name));
    }
    /* (The default algorithm is the host's choice: not compared.) */
    char cc[16] = {0};
    socklen_t cl = sizeof cc;
    printf("TCP_CONGESTION set reno: %s", res(setsockopt(k, IPPROTO_TCP, TCP_CONGESTION, "reno", 4)));
    printf(", set bogus: %s", res(setsockopt(k, IPPROTO_TCP, TCP_CONGESTION, "bogus", 5)));
    cl = sizeof cc;
    memset(cc, 0, sizeof cc);
    getsockopt(k, IPPROTO_TCP, TCP_CONGESTION, cc, &cl);
    printf(" -> %s\n", cc);
    uint64_t c1 = 0, c2 = 0;
    cl = sizeof c1;
    getsockopt(k, SOL_SOCKET, SO_COOKIE, &c1, &cl);
    cl = sizeof c2;
    getsockopt(u, SOL_SOCKET, SO_COOKIE, &c2, &cl);
    printf("SO_COOKIE: 8 bytes, non-zero, one per socket: %s\n", cl == 8 && c1 && c2 && c1 != c2 ? "yes" : "no");
    close(k);
    int mu = socket(AF_INET, SOCK_DGRAM, 0);
    printf("IP_MULTICAST_TTL %d IP_MULTICAST_LOOP %d\n", sockopt_int(mu, IPPROTO_IP, IP_MULTICAST_TTL),
           sockopt_int(mu, IPPROTO_IP, IP_MULTICAST_LOOP));
    close(mu);
    /* Options carry over to accepted connections. */
    uint16_t port;
    int ls = listener4(4, &port);
    setsockopt(ls, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(ls, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    int c = connect4(port);
    int a = accept(ls, NULL, NULL);
    printf("accepted: TCP_NODELAY %d SO_KEEPALIVE %d\n", sockopt_int(a, IPPROTO_TCP, TCP_NODELAY),
           sockopt_int(a, SOL_SOCKET, SO_KEEPALIVE));
    struct timeval tv = {0, 100000};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4];
    printf("read with SO_RCVTIMEO: %s\n", res(read(c, buf, sizeof buf)));
    close(a);
    close(c);
    close(ls);
    close(s);
    close(u);
}

/* ------------------------------------------------------------------- big -- */

static uint32_t fnv(uint32_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void big(void)
{
    enum { N = 4 << 20 };
    static unsigned char data[N], got[N];
    for (size_t i = 0; i < N; i++)
        data[i] = (unsigned char)(i * 131 + (i >> 9));
    uint16_t port;
    int ls = listener4(1, &port);
    pid_t ch = xfork();
    if (ch == 0) {
        int c = connect4(port);
        long n = read_full(c, got, N);
        printf("child: read %ld bytes, checksum %08x\n", n, fnv(2166136261u, got, (size_t)n));
        fflush(stdout);
        write_full(c, got, (size_t)n);
        close(c);
        _exit(0);
    }
    int s = accept(ls, NULL, NULL);
    long w = write_full(s, data, N);
    long n = read_full(s, got, N);
    printf("parent: wrote %ld, read back %ld, same %s\n", w, n, yesno(n == N && memcmp(data, got, N) == 0));
    printf("then EOF: %zd\n", read(s, got, 1));
    reap(ch, "child");
    close(s);
    close(ls);
}

/* Moves what it reads from `in` to `out` through a 64 KiB buffer, both
 * non-blocking, waiting with poll, until `in` ends; returns the bytes moved. */
static long relay_all(int in, int out)
{
    static unsigned char buf[64 << 10];
    int one = 1;
    setsockopt(in, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(out, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(in, F_SETFL, O_NONBLOCK);
    fcntl(out, F_SETFL, O_NONBLOCK);
    long moved = 0;
    size_t have = 0, off = 0;
    int eof = 0;
    while (!eof || have > off) {
        if (have == off && !eof) {
            ssize_t n = read(in, buf, sizeof buf);
            if (n > 0) {
                have = (size_t)n;
                off = 0;
            } else if (n == 0) {
                eof = 1;
            } else if (errno == EAGAIN) {
                struct pollfd p = {in, POLLIN, 0};
                poll(&p, 1, -1);
            } else {
                return -errno;
            }
            continue;
        }
        ssize_t w = write(out, buf + off, have - off);
        if (w > 0) {
            off += (size_t)w;
            moved += w;
        } else if (w < 0 && errno == EAGAIN) {
            struct pollfd p = {out, POLLOUT, 0};
            poll(&p, 1, -1);
        } else {
            return -errno;
        }
    }
    return moved;
}

/* 16 MiB from a writer (4 KiB writes) through a relay (64 KiB reads and
 * writes, non-blocking, poll) to a reader (4 KiB reads), over two loopback
 * connections with TCP_NODELAY, as a Go program copies between connections. */
static void relay(void)
{
    enum { N = 16 << 20, CHUNK = 4096 };
    uint16_t pa, pb;
    int la = listener4(1, &pa), lb = listener4(1, &pb);
    pid_t writer = xfork();
    if (writer == 0) {
        int c = connect4(pa), one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        static unsigned char chunk[CHUNK];
        for (size_t i = 0; i < N; i += CHUNK) {
            for (size_t k = 0; k < CHUNK; k++)
                chunk[k] = (unsigned char)((i + k) * 131 + ((i + k) >> 9));
            write_full(c, chunk, CHUNK);
        }
        close(c);
        _exit(0);
    }
    pid_t reader = xfork();
    if (reader == 0) {
        int c = connect4(pb), one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        static unsigned char got[4096];
        long total = 0;
        uint32_t h = 2166136261u;
        for (;;) {
            ssize_t n = read(c, got, sizeof got);
            if (n <= 0)
                break;
            h = fnv(h, got, (size_t)n);
            total += n;
        }
        printf("reader: %ld bytes, checksum %08x\n", total, h);
        fflush(stdout);
        _exit(0);
    }
    int a = accept(la, NULL, NULL), b = accept(lb, NULL, NULL);
    long moved = relay_all(a, b);
    close(b);
    close(a);
    reap(reader, "reader");
    reap(writer, "writer");
    printf("relay: moved %ld bytes\n", moved);
    close(la);
    close(lb);
}

/* ----------------------------------------------------------------- ports -- */

/* Binds `type` sockets to 127.0.0.1 port 0 until that fails, in children of
 * their own (a process's descriptor limit may be below the ephemeral range):
 * each child binds until an error, reports how many and the error, and holds
 * its sockets until `release` is closed. Returns the error other than
 * EMFILE/ENFILE that ended it; *count gets the sockets bound. */
static int fill_ports(int type, int *count, int *release, pid_t *kids, int *nkids)
{
    int rel[2];
    if (pipe(rel) < 0)
        return errno;
    *release = rel[1];
    *count = 0;
    for (*nkids = 0; *nkids < 64; (*nkids)++) {
        int up[2];
        if (pipe(up) < 0)
            return errno;
        pid_t pid = fork();
        if (pid == 0) {
            close(rel[1]);
            close(up[0]);
            struct rlimit lim;
            getrlimit(RLIMIT_NOFILE, &lim);
            lim.rlim_cur = lim.rlim_max > 40000 ? 40000 : lim.rlim_max;
            setrlimit(RLIMIT_NOFILE, &lim);
            int n = 0, err = 0;
            for (;;) {
                int s = socket(AF_INET, type, 0);
                if (s < 0) {
                    err = errno;
                    break;
                }
                struct sockaddr_in a = lo4(0);
                if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
                    err = errno;
                    close(s);
                    break;
                }
                n++;
            }
            int msg[2] = {n, err};
            write_full(up[1], msg, sizeof msg);
            char b;
            while (read(rel[0], &b, 1) > 0)
                ;
            _exit(0);
        }
        close(up[1]);
        if (pid < 0)
            return errno;
        kids[*nkids] = pid;
        int msg[2] = {0, 0};
        if (read(up[0], msg, sizeof msg) != sizeof msg)
            msg[1] = EIO;
        close(up[0]);
        *count += msg[0];
        if (msg[1] != EMFILE && msg[1] != ENFILE) {
            (*nkids)++;
            close(rel[0]);
            return msg[1];
        }
    }
    close(rel[0]);
    return 0;
}

static void release_ports(int release, pid_t *kids, int nkids)
{
    close(release);
    for (int i = 0; i < nkids; i++)
        waitpid(kids[i], NULL, 0);
}

/* Ephemeral-port exhaustion on loopback (TCP): bind to port 0 fails with
 * EADDRINUSE, connect with EADDRNOTAVAIL; once the sockets are closed every
 * port is free again. Only the errors and
 * whether the count passed 1000 are printed: the range and the ports the
 * host uses differ. */
static void ports(void)
{
    pid_t kids[64];
    int nkids, count, release;
    uint16_t lport;
    int ls = listener4(16, &lport);
    int err = fill_ports(SOCK_STREAM, &count, &release, kids, &nkids);
    printf("tcp bind to port 0 until it fails: %s after %s\n", errname(err), count > 1000 ? "over 1000" : "at most 1000");
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo4(lport);
    int r = connect(c, (struct sockaddr *)&a, sizeof a);
    printf("then connect: %s\n", r < 0 ? errname(errno) : "OK");
    close(c);
    release_ports(release, kids, nkids);
    c = connect4(lport);
    int s = accept(ls, NULL, NULL);
    printf("after closing them, connect: %s\n", yesno(c >= 0 && s >= 0));
    close(c);
    close(s);
    close(ls);

    /* Everything is reusable: a second round fills the range again. */
    int count2;
    err = fill_ports(SOCK_STREAM, &count2, &release, kids, &nkids);
    release_ports(release, kids, nkids);
    printf("a second tcp round: %s after %s\n", errname(err), count2 > 1000 ? "over 1000" : "at most 1000");
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    a = lo4(0);
    printf("a udp bind to port 0 after all: %s\n", yesno(bind(u, (struct sockaddr *)&a, sizeof a) == 0));
    close(u);
}

/* ----------------------------------------------------------------- churn -- */

static void churn(int n)
{
    uint16_t port;
    int ls = listener4(16, &port);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        int c = connect4(port);
        int s = accept(ls, NULL, NULL);
        if (c < 0 || s < 0) {
            bad++;
            break;
        }
        char b = (char)i, r = 0;
        if (write(c, &b, 1) != 1 || read(s, &r, 1) != 1 || r != b)
            bad++;
        /* The server closes first half of the time. */
        if (i & 1) {
            close(s);
            close(c);
        } else {
            close(c);
            close(s);
        }
        /* And UDP. */
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = lo4(port);
        sendto(u, "x", 1, 0, (struct sockaddr *)&a, sizeof a);
        close(u);
    }
    close(ls);
    printf("%d connections, %d bad\n", n, bad);
}

/* Sends a NETLINK_ROUTE dump request of `type` for `family` and reads the
 * answer to NLMSG_DONE; prints what it says about lo. */
/* Prints an RTM_NEWROUTE through lo: table, type, scope, protocol, destination,
 * source and priority. */
static void show_lo_route(struct nlmsghdr *h, int lo_index)
{
    struct rtmsg *rt = NLMSG_DATA(h);
    int len = (int)RTM_PAYLOAD(h), oif = 0;
    unsigned table = rt->rtm_table, prio = 0;
    char dst[64] = "default", src[64] = "-";
    for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == RTA_OIF)
            oif = *(int *)RTA_DATA(a);
        else if (a->rta_type == RTA_TABLE)
            table = *(unsigned *)RTA_DATA(a);
        else if (a->rta_type == RTA_PRIORITY)
            prio = *(unsigned *)RTA_DATA(a);
        else if (a->rta_type == RTA_DST)
            inet_ntop(rt->rtm_family, RTA_DATA(a), dst, sizeof dst);
        else if (a->rta_type == RTA_PREFSRC)
            inet_ntop(rt->rtm_family, RTA_DATA(a), src, sizeof src);
    }
    if (oif == lo_index)
        printf("  route via lo: family %d table %u type %d scope %d proto %d dst %s/%d src %s priority %u\n",
               rt->rtm_family, table, rt->rtm_type, rt->rtm_scope, rt->rtm_protocol, dst, rt->rtm_dst_len, src, prio);
}

static void nl_dump(int fd, unsigned port, int type, int family)
{
    struct {
        struct nlmsghdr h;
        struct ifaddrmsg m;
    } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = sizeof req;
    req.h.nlmsg_type = (unsigned short)type;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.h.nlmsg_seq = 7;
    req.m.ifa_family = (unsigned char)family;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel) != (ssize_t)sizeof req) {
        printf("netlink send: %s\n", strerror(errno));
        return;
    }
    static char buf[4096];
    int done = 0, ours = 1, lo_seen = 0, lo_mtu = 0, lo_addr = 0, other_family = 0, messages = 0;
    int lo_index = (int)if_nametoindex("lo");
    while (!done) {
        struct sockaddr_nl from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (n < 0) {
            printf("netlink recv: %s\n", strerror(errno));
            return;
        }
        if (from.nl_pid != 0)
            ours = 0;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
            messages++;
            if (h->nlmsg_seq != 7 || h->nlmsg_pid != port)
                ours = 0;
            if (h->nlmsg_type == NLMSG_DONE) {
                done = 1;
                break;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                printf("netlink error %d\n", ((struct nlmsgerr *)NLMSG_DATA(h))->error);
                return;
            }
            if (h->nlmsg_type == RTM_NEWROUTE)
                show_lo_route(h, lo_index);
            if (h->nlmsg_type == RTM_NEWLINK) {
                struct ifinfomsg *ifi = NLMSG_DATA(h);
                int len = (int)IFLA_PAYLOAD(h);
                for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
                    if (a->rta_type == IFLA_IFNAME && strcmp(RTA_DATA(a), "lo") == 0)
                        lo_seen = ifi->ifi_index == lo_index && (ifi->ifi_flags & IFF_LOOPBACK) &&
                                  ifi->ifi_type == ARPHRD_LOOPBACK;
                    if (a->rta_type == IFLA_MTU && ifi->ifi_index == lo_index)
                        lo_mtu = *(int *)RTA_DATA(a);
                }
            }
            if (h->nlmsg_type == RTM_NEWADDR) {
                struct ifaddrmsg *ifa = NLMSG_DATA(h);
                int len = (int)IFA_PAYLOAD(h);
                if (family && ifa->ifa_family != family)
                    other_family = 1;
                for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len))
                    if (a->rta_type == IFA_ADDRESS && ifa->ifa_family == AF_INET && (int)ifa->ifa_index == lo_index &&
                        *(uint32_t *)RTA_DATA(a) == htonl(INADDR_LOOPBACK) && ifa->ifa_prefixlen == 8)
                        lo_addr = 1;
            }
        }
    }
    printf("  %s dump: seq and port ours %s, several messages %s",
           type == RTM_GETLINK ? "link" : type == RTM_GETROUTE ? "route" : "address", ours ? "yes" : "no",
           messages > 1 ? "yes" : "no");
    if (type == RTM_GETROUTE)
        printf("\n");
    else if (type == RTM_GETLINK)
        printf(", lo (index, flags, type) %s, lo mtu %d\n", lo_seen ? "yes" : "no", lo_mtu);
    else
        printf(", 127.0.0.1/8 on lo %s, only the family asked for %s\n", lo_addr ? "yes" : "no", other_family ? "no" : "yes");
}

/* Whether the `n` bytes of netlink messages at `buf` end with NLMSG_DONE. */
static int done_in(char *buf, ssize_t n)
{
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n))
        if (h->nlmsg_type == NLMSG_DONE)
            return 1;
    return 0;
}

/* Bytes lo has received, from /proc/net/dev (~0 when it is not there). */
static unsigned long long lo_rx_bytes(void)
{
    char text[4096];
    int fd = open("/proc/net/dev", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
    if (fd >= 0)
        close(fd);
    text[n < 0 ? 0 : n] = 0;
    char *lo = strstr(text, " lo:");
    unsigned long long rx;
    return lo && sscanf(lo + 4, "%llu", &rx) == 1 ? rx : ~0ULL;
}

static void ifaces(void)
{
    /* getifaddrs (netlink underneath in glibc, ioctls in musl). */
    struct ifaddrs *list;
    if (getifaddrs(&list) != 0) {
        printf("getifaddrs: %s\n", strerror(errno));
    } else {
        int lo4 = 0;
        for (struct ifaddrs *i = list; i; i = i->ifa_next)
            if (strcmp(i->ifa_name, "lo") == 0 && i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
                ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
                (i->ifa_flags & (IFF_UP | IFF_LOOPBACK)) == (IFF_UP | IFF_LOOPBACK) && i->ifa_netmask &&
                ((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr == htonl(0xff000000))
                lo4 = 1;
        printf("getifaddrs: lo with 127.0.0.1/8, up: %s\n", lo4 ? "yes" : "no");
        freeifaddrs(list);
    }
    unsigned lo = if_nametoindex("lo");
    char name[IF_NAMESIZE] = "";
    printf("if_nametoindex(lo) > 0: %s, back to a name: %s\n", lo > 0 ? "yes" : "no",
           if_indextoname(lo, name) ? name : strerror(errno));
    unsigned none = if_nametoindex("nosuch0");
    printf("if_nametoindex(nosuch0): %u\n", none);
    struct if_nameindex *ni = if_nameindex();
    int listed = 0;
    for (struct if_nameindex *p = ni; p && p->if_index; p++)
        listed |= strcmp(p->if_name, "lo") == 0 && p->if_index == lo;
    printf("if_nameindex lists lo: %s\n", listed ? "yes" : "no");
    if (ni)
        if_freenameindex(ni);

    /* The SIOCGIF* ioctls, on a UDP socket. */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    printf("SIOCGIFFLAGS lo: %s", ioctl(s, SIOCGIFFLAGS, &r) ? strerror(errno) : "ok");
    printf(", up and loopback %s\n", (r.ifr_flags & (IFF_UP | IFF_LOOPBACK)) == (IFF_UP | IFF_LOOPBACK) ? "yes" : "no");
    printf("SIOCGIFMTU lo: %d\n", ioctl(s, SIOCGIFMTU, &r) ? -errno : r.ifr_mtu);
    printf("SIOCGIFINDEX lo is if_nametoindex: %s\n", ioctl(s, SIOCGIFINDEX, &r) == 0 && r.ifr_ifindex == (int)lo ? "yes" : "no");
    ioctl(s, SIOCGIFADDR, &r);
    printf("SIOCGIFADDR lo: %s\n", inet_ntoa(((struct sockaddr_in *)&r.ifr_addr)->sin_addr));
    ioctl(s, SIOCGIFNETMASK, &r);
    printf("SIOCGIFNETMASK lo: %s\n", inet_ntoa(((struct sockaddr_in *)&r.ifr_netmask)->sin_addr));
    printf("SIOCGIFHWADDR lo: family %d\n", ioctl(s, SIOCGIFHWADDR, &r) ? -errno : r.ifr_hwaddr.sa_family);
    r.ifr_ifindex = (int)lo;
    printf("SIOCGIFNAME of lo's index: %s\n", ioctl(s, SIOCGIFNAME, &r) ? strerror(errno) : r.ifr_name);
    strcpy(r.ifr_name, "nosuch0");
    printf("SIOCGIFFLAGS nosuch0: %s\n", ioctl(s, SIOCGIFFLAGS, &r) ? strerror(errno) : "ok");
    struct ifreq reqs[16];
    struct ifconf conf = {.ifc_len = sizeof reqs, .ifc_req = reqs};
    int conf_lo = 0;
    if (ioctl(s, SIOCGIFCONF, &conf) == 0)
        for (int i = 0; i < conf.ifc_len / (int)sizeof reqs[0]; i++)
            conf_lo |= strcmp(reqs[i].ifr_name, "lo") == 0 &&
                       ((struct sockaddr_in *)&reqs[i].ifr_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
    printf("SIOCGIFCONF lists lo with 127.0.0.1: %s\n", conf_lo ? "yes" : "no");
    close(s);

    /* /proc/net: lo's counters grow with loopback traffic; ::1 on lo; routes. */
    unsigned long long rx0 = lo_rx_bytes(), tx0;
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in self = lo4(0);
    socklen_t sl = sizeof self;
    bind(u, (struct sockaddr *)&self, sizeof self);
    getsockname(u, (struct sockaddr *)&self, &sl);
    static char payload[1000];
    sendto(u, payload, sizeof payload, 0, (struct sockaddr *)&self, sizeof self);
    recv(u, payload, sizeof payload, 0);
    close(u);
    tx0 = lo_rx_bytes();
    printf("/proc/net/dev: lo counts a 1000-byte datagram: %s\n", rx0 != ~0ULL && tx0 >= rx0 + 1000 ? "yes" : "no");
    char text[4096];
    int fd = open("/proc/net/if_inet6", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
    text[n < 0 ? 0 : n] = 0;
    close(fd);
    printf("/proc/net/if_inet6: ::1 on lo: %s\n", strstr(text, "00000000000000000000000000000001 ") && strstr(text, " lo\n") ? "yes" : "no");
    fd = open("/proc/net/route", O_RDONLY);
    n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
    text[n < 0 ? 0 : n] = 0;
    close(fd);
    printf("/proc/net/route: header %s, no lo row %s\n", strncmp(text, "Iface\tDestination\tGateway \t", 26) == 0 ? "yes" : "no",
           strstr(text, "\nlo\t") ? "no" : "yes");

    /* A raw NETLINK_ROUTE socket: autobind to the process id, dumps, errors. */
    int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    struct sockaddr_nl me = {.nl_family = AF_NETLINK};
    socklen_t ml = sizeof me;
    printf("netlink bind: %s", bind(nl, (struct sockaddr *)&me, sizeof me) ? strerror(errno) : "ok");
    getsockname(nl, (struct sockaddr *)&me, &ml);
    printf(", port is the pid: %s, name length %u\n", me.nl_pid == (unsigned)getpid() ? "yes" : "no", ml);
    nl_dump(nl, me.nl_pid, RTM_GETLINK, AF_UNSPEC);
    nl_dump(nl, me.nl_pid, RTM_GETADDR, AF_INET);
    nl_dump(nl, me.nl_pid, RTM_GETROUTE, AF_UNSPEC);
    /* Bad input: a message shorter than its header is ignored; a request whose
     * length is not a multiple of 4 is answered. */
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    uint32_t short_msg[4] = {8, RTM_GETLINK | (NLM_F_REQUEST | NLM_F_DUMP) << 16, 9, 0};
    sendto(nl, short_msg, sizeof short_msg, 0, (struct sockaddr *)&kernel, sizeof kernel);
    char junk[64];
    int ignored = recv(nl, junk, sizeof junk, MSG_DONTWAIT) < 0 && errno == EAGAIN;
    unsigned char odd[17] = {0};
    struct nlmsghdr oh = {sizeof odd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 7, 0};
    memcpy(odd, &oh, sizeof oh);
    sendto(nl, odd, sizeof odd, 0, (struct sockaddr *)&kernel, sizeof kernel);
    static char reply[4096];
    ssize_t got = recv(nl, reply, sizeof reply, 0);
    int answered = got > 0 && ((struct nlmsghdr *)reply)->nlmsg_type == RTM_NEWLINK;
    while (got > 0 && !done_in(reply, got))
        got = recv(nl, reply, sizeof reply, 0);
    printf("netlink: a message shorter than its header ignored %s, a 17-byte request answered %s\n",
           ignored ? "yes" : "no", answered ? "yes" : "no");
    int nl2 = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    struct sockaddr_nl taken = {.nl_family = AF_NETLINK, .nl_pid = me.nl_pid};
    printf("a second socket binding the same port: %s\n",
           bind(nl2, (struct sockaddr *)&taken, sizeof taken) ? strerror(errno) : "ok");
    struct sockaddr_nl other = {.nl_family = AF_NETLINK};
    ml = sizeof other;
    bind(nl2, (struct sockaddr *)&other, sizeof other);
    getsockname(nl2, (struct sockaddr *)&other, &ml);
    printf("its own port differs: %s\n", other.nl_pid != me.nl_pid && other.nl_pid != 0 ? "yes" : "no");
    struct sockaddr_in bad = {.sin_family = AF_INET};
    printf("bind with an AF_INET address: %s\n", bind(nl2, (struct sockaddr *)&bad, sizeof bad) ? strerror(errno) : "ok");
    close(nl2);
    close(nl);
}

/* --------------------------------------------------------------- procnet -- */

/* The line of /proc/net/TABLE whose inode column is fd's inode, or NULL; the
 * table's first line goes to head. */
static char *procnet_line(const char *table, int fd, char *buf, size_t size, char *head, size_t hsize)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return NULL;
    char path[64];
    snprintf(path, sizeof path, "/proc/net/%s", table);
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("%s: %s\n", path, errname(errno));
        return NULL;
    }
    char *found = NULL;
    if (!fgets(head, (int)hsize, f))
        head[0] = 0;
    while (fgets(buf, (int)size, f)) {
        unsigned long ino = 0;
        if (strcmp(table, "unix") == 0) {
            /* Num RefCount Protocol Flags Type St Inode [Path] */
            char num[32];
            unsigned rc, proto, flags, type, state;
            if (sscanf(buf, "%31s %x %x %x %x %x %lu", num, &rc, &proto, &flags, &type, &state, &ino) != 7)
                continue;
        } else {
            /* sl local remote st tx:rx tr:when retrnsmt uid timeout inode */
            char sl[16], l[64], r[64], q[32], t[32], rt[16];
            unsigned stt, uid;
            int tmo;
            if (sscanf(buf, "%15s %63s %63s %x %31s %31s %15s %u %d %lu", sl, l, r, &stt, q, t, rt, &uid, &tmo, &ino) !=
                10)
                continue;
        }
        if (ino == (unsigned long)st.st_ino) {
            found = buf;
            break;
        }
    }
    fclose(f);
    return found;
}

/* Prints what /proc/net/TABLE says of fd: addresses (the port as "port" when it
 * is fd's own, "peer" when it is the peer's), state, queues, and the widths of
 * the line and of the table's header. */
static void procnet_inet(const char *what, const char *table, int fd)
{
    char buf[512], head[512];
    char *line = procnet_line(table, fd, buf, sizeof buf, head, sizeof head);
    if (!line) {
        printf("%s: not in /proc/net/%s\n", what, table);
        return;
    }
    size_t len = strcspn(line, "\n");
    char local[64], remote[64], q[32];
    unsigned state;
    sscanf(line, "%*s %63s %63s %x %31s", local, remote, &state, q);
    char *lp = strrchr(local, ':'), *rp = strrchr(remote, ':');
    if (!lp || !rp) {
        printf("%s: bad line %s", what, line);
        return;
    }
    *lp++ = 0;
    *rp++ = 0;
    unsigned lport = (unsigned)strtoul(lp, NULL, 16), rport = (unsigned)strtoul(rp, NULL, 16);
    struct sockaddr_storage peer;
    socklen_t pl = sizeof peer;
    unsigned peer_port = 0;
    if (getpeername(fd, (struct sockaddr *)&peer, &pl) == 0)
        peer_port = ntohs(peer.ss_family == AF_INET ? ((struct sockaddr_in *)&peer)->sin_port
                                                     : ((struct sockaddr_in6 *)&peer)->sin6_port);
    /* IPv4 lines are padded to a fixed width; IPv6 ones end after the inode. */
    int padded = strchr(table, '6') == NULL;
    printf("%s: %s local %s:%s remote %s:%s st %02X queues %s line %zu head %zu\n", what, table, local,
           lport == port_of(fd) ? "port" : "?", remote, rport == 0 ? "0" : rport == peer_port ? "peer" : "?", state, q,
           padded ? len : 0, strcspn(head, "\n"));
}

static void procnet_unix(const char *what, int fd, const char *dir)
{
    char buf[512], head[512];
    char *line = procnet_line("unix", fd, buf, sizeof buf, head, sizeof head);
    if (!line) {
        printf("%s: not in /proc/net/unix\n", what);
        return;
    }
    line[strcspn(line, "\n")] = 0;
    unsigned rc, proto, flags, type, state;
    unsigned long ino;
    int n = 0;
    sscanf(line, "%*s %x %x %x %x %x %lu%n", &rc, &proto, &flags, &type, &state, &ino, &n);
    const char *path = line + n;
    /* The temporary directory's name differs between runs (the abstract
     * socket's name has it too: runs at the same time do not collide). */
    if (strncmp(path, " ", 1) == 0 && strncmp(path + 1, dir, strlen(dir)) == 0)
        printf("%s: unix flags %08X type %04X st %02X path DIR%s\n", what, flags, type, state, path + 1 + strlen(dir));
    else if (strncmp(path, " @", 2) == 0 && strncmp(path + 2, dir, strlen(dir)) == 0)
        printf("%s: unix flags %08X type %04X st %02X path @DIR%s\n", what, flags, type, state, path + 2 + strlen(dir));
    else
        printf("%s: unix flags %08X type %04X st %02X path '%s'\n", what, flags, type, state, path);
    if (strcmp(what, "unix listener") == 0)
        printf("unix head: %s", head);
}

static void procnet(void)
{
    uint16_t port;
    int ls = listener4(8, &port);
    int c = connect4(port);
    int a = accept(ls, NULL, NULL);
    if (c < 0 || a < 0) {
        printf("procnet: no connection: %s\n", errname(errno));
        return;
    }
    if (write(c, "hello", 5) != 5)
        printf("write: %s\n", errname(errno));
    struct pollfd pf = {.fd = a, .events = POLLIN};
    poll(&pf, 1, 5000);
    procnet_inet("tcp listener", "tcp", ls);
    procnet_inet("tcp client", "tcp", c);
    procnet_inet("tcp accepted", "tcp", a);

    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = lo4(0);
    bind(u, (struct sockaddr *)&ua, sizeof ua);
    procnet_inet("udp bound", "udp", u);
    int uc = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = lo4(port_of(u));
    connect(uc, (struct sockaddr *)&to, sizeof to);
    procnet_inet("udp connected", "udp", uc);

    int l6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    if (bind(l6, (struct sockaddr *)&a6, sizeof a6) < 0 || listen(l6, 4) < 0)
        printf("tcp6 listener: %s\n", errname(errno));
    procnet_inet("tcp6 listener", "tcp6", l6);
    int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
    bind(u6, (struct sockaddr *)&a6, sizeof a6);
    procnet_inet("udp6 bound", "udp6", u6);
    /* Each table lists only its own family and type. */
    procnet_inet("tcp listener in tcp6", "tcp6", ls);
    procnet_inet("udp bound in tcp", "tcp", u);

    char dir[] = "/tmp/procnetXXXXXX";
    if (!mkdtemp(dir)) {
        printf("mkdtemp: %s\n", errname(errno));
        return;
    }
    char path[64];
    snprintf(path, sizeof path, "%s/s", dir);
    int us = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    strcpy(sun.sun_path, path);
    if (bind(us, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(us, 4) < 0)
        printf("unix listener: %s\n", errname(errno));
    int ab = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un abn = {.sun_family = AF_UNIX};
    size_t dl = strlen(dir);
    memcpy(abn.sun_path + 1, dir, dl);
    memcpy(abn.sun_path + 1 + dl, "\0x", 2);
    if (bind(ab, (struct sockaddr *)&abn, offsetof(struct sockaddr_un, sun_path) + 3 + dl) < 0)
        printf("abstract bind: %s\n", errname(errno));
    int sp[2];
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp);
    procnet_unix("unix listener", us, dir);
    procnet_unix("unix abstract", ab, dir);
    procnet_unix("unix pair", sp[0], dir);
    /* /proc/self/net is the same directory; sockstat names each protocol. */
    char h1[256] = "", h2[256] = "";
    FILE *f1 = fopen("/proc/net/tcp", "r"), *f2 = fopen("/proc/self/net/tcp", "r");
    if (f1 && f2 && fgets(h1, sizeof h1, f1) && fgets(h2, sizeof h2, f2))
        printf("/proc/self/net/tcp has the same header: %s\n", strcmp(h1, h2) == 0 ? "yes" : "no");
    else
        printf("/proc/self/net/tcp: %s\n", errname(errno));
    if (f1)
        fclose(f1);
    if (f2)
        fclose(f2);
    for (int v6 = 0; v6 < 2; v6++) {
        FILE *f = fopen(v6 ? "/proc/net/sockstat6" : "/proc/net/sockstat", "r");
        char l[256], word[32];
        printf("sockstat%s:", v6 ? "6" : "");
        while (f && fgets(l, sizeof l, f))
            if (sscanf(l, "%31s", word) == 1)
                printf(" %s", word);
        printf("\n");
        if (f)
            fclose(f);
    }
    close(ls);
    procnet_inet("closed listener", "tcp", ls);
    unlink(path);
    rmdir(dir);
}

/* Prints the control messages of a received datagram. */
static void show_cmsgs(struct msghdr *m)
{
    unsigned lo = if_nametoindex("lo");
    printf("  msg_flags CTRUNC %s, controllen %zu\n", (m->msg_flags & MSG_CTRUNC) ? "yes" : "no",
           (size_t)m->msg_controllen);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            inet_ntop(AF_INET, &pi.ipi_spec_dst, a, sizeof a);
            inet_ntop(AF_INET, &pi.ipi_addr, b, sizeof b);
            printf("  IP_PKTINFO len %zu: ifindex is lo %s, spec_dst %s, addr %s\n", (size_t)c->cmsg_len,
                   (unsigned)pi.ipi_ifindex == lo ? "yes" : "no", a, b);
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            inet_ntop(AF_INET6, &pi.ipi6_addr, a, sizeof a);
            printf("  IPV6_PKTINFO len %zu: ifindex is lo %s, addr %s\n", (size_t)c->cmsg_len,
                   pi.ipi6_ifindex == lo ? "yes" : "no", a);
        } else {
            printf("  cmsg level %d type %d len %zu\n", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
        }
    }
}

/* Sends a datagram to `to` from a new socket of its family, and receives it on
   `r` with a control buffer of `room` bytes. */
static void pkt_roundtrip(int r, const struct sockaddr *to, socklen_t tolen, size_t room)
{
    int s = socket(to->sa_family, SOCK_DGRAM, 0);
    if (sendto(s, "ping", 4, 0, to, tolen) != 4)
        printf("  sendto: %s\n", strerror(errno));
    close(s);
    char buf[16];
    union {
        char b[256];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec v = {buf, sizeof buf};
    struct msghdr m = {0};
    m.msg_iov = &v;
    m.msg_iovlen = 1;
    m.msg_control = room ? ctl.b : NULL;
    m.msg_controllen = room;
    ssize_t n = recvmsg(r, &m, 0);
    if (n < 0) {
        printf("  recvmsg: %s\n", strerror(errno));
        return;
    }
    printf("  recvmsg %zd bytes\n", n);
    show_cmsgs(&m);
}

static void pktinfo_section(void)
{
    int one = 1, zero = 0;
    /* IPv4: a socket bound to every address learns where each datagram went. */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    bind(u, (struct sockaddr *)&a, sizeof a);
    socklen_t al = sizeof a;
    getsockname(u, (struct sockaddr *)&a, &al);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    printf("IP_PKTINFO %d", sockopt_int(u, IPPROTO_IP, IP_PKTINFO));
    setsockopt(u, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    printf(" -> %d\n", sockopt_int(u, IPPROTO_IP, IP_PKTINFO));
    printf("to 127.0.0.1, room for it:\n");
    pkt_roundtrip(u, (struct sockaddr *)&a, sizeof a, 256);
    printf("to 127.0.0.1, a 20-byte control buffer:\n");
    pkt_roundtrip(u, (struct sockaddr *)&a, sizeof a, 20);
    printf("to 127.0.0.1, no control buffer:\n");
    pkt_roundtrip(u, (struct sockaddr *)&a, sizeof a, 0);
    setsockopt(u, IPPROTO_IP, IP_PKTINFO, &zero, sizeof zero);
    printf("IP_PKTINFO off -> %d:\n", sockopt_int(u, IPPROTO_IP, IP_PKTINFO));
    pkt_roundtrip(u, (struct sockaddr *)&a, sizeof a, 256);
    close(u);

    /* Dual stack: IPV6_RECVPKTINFO, and IP_PKTINFO for IPv4 datagrams. */
    int d = socket(AF_INET6, SOCK_DGRAM, 0);
    setsockopt(d, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    struct sockaddr_in6 b6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
    bind(d, (struct sockaddr *)&b6, sizeof b6);
    al = sizeof b6;
    getsockname(d, (struct sockaddr *)&b6, &al);
    printf("IPV6_RECVPKTINFO %d", sockopt_int(d, IPPROTO_IPV6, IPV6_RECVPKTINFO));
    setsockopt(d, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    printf(" -> %d\n", sockopt_int(d, IPPROTO_IPV6, IPV6_RECVPKTINFO));
    struct sockaddr_in6 l6 = b6;
    l6.sin6_addr = in6addr_loopback;
    printf("to ::1:\n");
    pkt_roundtrip(d, (struct sockaddr *)&l6, sizeof l6, 256);
    struct sockaddr_in l4 = {.sin_family = AF_INET, .sin_port = b6.sin6_port};
    l4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    printf("to 127.0.0.1:\n");
    pkt_roundtrip(d, (struct sockaddr *)&l4, sizeof l4, 256);
    setsockopt(d, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    printf("with IP_PKTINFO too, to 127.0.0.1:\n");
    pkt_roundtrip(d, (struct sockaddr *)&l4, sizeof l4, 256);
    printf("and to ::1:\n");
    pkt_roundtrip(d, (struct sockaddr *)&l6, sizeof l6, 256);
    close(d);
}

/* An ICMP echo request with identifier `id`, sequence `seq` and an 8-byte
 * payload, checksummed, in `p` (16 bytes). */
static void echo_request(unsigned char *p, unsigned id, unsigned seq)
{
    memset(p, 0, 16);
    p[0] = 8;
    p[4] = id >> 8, p[5] = id & 0xff, p[6] = seq >> 8, p[7] = seq & 0xff;
    memcpy(p + 8, "elfin-pg", 8);
    unsigned sum = 0;
    for (int i = 0; i < 16; i += 2)
        sum += (p[i] << 8) | p[i + 1];
    sum = (sum >> 16) + (sum & 0xffff);
    sum += sum >> 16;
    sum = ~sum & 0xffff;
    p[2] = sum >> 8, p[3] = sum & 0xff;
}

/* The ICMP identifier of this process's echo requests: a raw socket sees every
 * ICMP packet of the machine, those of other pings too. */
static unsigned raw_id(void)
{
    return (unsigned)getpid() & 0xffff;
}

/* The next packet of raw socket `s` that carries this process's identifier
 * (waiting up to `ms` ms for each packet): its length, or -1. */
static ssize_t recv_ours(int s, unsigned char *b, size_t size, int ms, struct sockaddr_in *from, int *inq)
{
    for (;;) {
        struct pollfd p = {s, POLLIN, 0};
        if (poll(&p, 1, ms) != 1)
            return -1;
        ioctl(s, FIONREAD, inq);
        socklen_t fl = sizeof *from;
        ssize_t n = recvfrom(s, b, size, 0, (struct sockaddr *)from, &fl);
        int ihl = n > 0 ? (b[0] & 15) * 4 : 0;
        if (n >= ihl + 8 && (unsigned)((b[ihl + 4] << 8) | b[ihl + 5]) == raw_id())
            return n;
    }
}

/* The next packet of raw socket `s` for this process (waiting up to a second):
 * its IP and ICMP fields, or "none". */
static void show_raw_packet(const char *what, int s)
{
    int inq = -1;
    unsigned char b[256];
    struct sockaddr_in from;
    ssize_t n = recv_ours(s, b, sizeof b, 1000, &from, &inq);
    if (n < 28) {
        printf("%s: none\n", what);
        return;
    }
    int ihl = (b[0] & 15) * 4;
    char src[32], dst[32], fromtxt[32];
    inet_ntop(AF_INET, b + 12, src, sizeof src);
    inet_ntop(AF_INET, b + 16, dst, sizeof dst);
    inet_ntop(AF_INET, &from.sin_addr, fromtxt, sizeof fromtxt);
    printf("%s: %zd bytes (FIONREAD %d), version %d, header %d, length %d, ttl %d, protocol %d, %s -> %s; "
           "from %s port %d; ICMP type %d code %d seq %d payload %.8s\n",
           what, n, inq, b[0] >> 4, ihl, (b[2] << 8) | b[3], b[8], b[9], src, dst, fromtxt, ntohs(from.sin_port),
           b[ihl], b[ihl + 1], (b[ihl + 6] << 8) | b[ihl + 7], (char *)b + ihl + 8);
}

/* A raw ICMP socket, as ping uses one. */
/* Waits up to a second for a packet of this process on the raw socket `s`
 * (its payload starts with `tag`: other probes on the host may send too);
 * prints its length, the protocol and source of its IPv4 header, and the rest
 * of its payload. */
static void show_proto_packet(const char *what, int s, const char *tag)
{
    unsigned char b[128];
    size_t tl = strlen(tag);
    for (int tries = 0; tries < 50; tries++) {
        struct pollfd p = {s, POLLIN, 0};
        if (poll(&p, 1, 1000) != 1)
            break;
        ssize_t n = recv(s, b, sizeof b, 0);
        if (n < 20 + (ssize_t)tl || memcmp(b + 20, tag, tl) != 0)
            continue;
        char src[32];
        inet_ntop(AF_INET, b + 12, src, sizeof src);
        printf("%s: %zd bytes less the tag, protocol %d, from %s, payload \"%.*s\"\n", what, n - (ssize_t)tl, b[9], src,
               (int)(n - 20 - (ssize_t)tl), b + 20 + tl);
        return;
    }
    printf("%s: nothing\n", what);
}

/* A raw socket of another protocol than ICMP: 253 (RFC 3692 experimentation). */
static void raw_other_protocol(void)
{
    printf("SOCK_RAW with protocol 0: %s\n", errname(socket(AF_INET, SOCK_RAW, 0) < 0 ? errno : 0));
    int a = socket(AF_INET, SOCK_RAW, 253), b = socket(AF_INET, SOCK_RAW, 253);
    printf("two SOCK_RAW sockets of protocol 253: %s\n", a >= 0 && b >= 0 ? "OK" : errname(errno));
    if (a < 0 || b < 0)
        return;
    struct sockaddr_in me;
    socklen_t ml = sizeof me;
    getsockname(a, (struct sockaddr *)&me, &ml);
    int filt;
    socklen_t fl = sizeof filt;
    printf("name port %d, SO_PROTOCOL %d, ICMP_FILTER %s\n", ntohs(me.sin_port), sockopt_int(a, SOL_SOCKET, SO_PROTOCOL),
           res(getsockopt(a, SOL_RAW, 1, &filt, &fl)));
    struct sockaddr_in lo = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &lo.sin_addr);
    char tag[16], msg[32];
    snprintf(tag, sizeof tag, "%u:", raw_id());
    int len = snprintf(msg, sizeof msg, "%sexperiment", tag);
    printf("sendto 127.0.0.1: %s\n", res(sendto(a, msg, (size_t)len, 0, (struct sockaddr *)&lo, sizeof lo) == len ? 0 : -1));
    show_proto_packet("the other socket", b, tag);
    show_proto_packet("the sender itself", a, tag);
    show_proto_packet("the other socket, then", b, tag);
    close(a);
    close(b);
}

static void raw_section(void)
{
    int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    printf("socket(SOCK_RAW, IPPROTO_ICMP): %s\n", s >= 0 ? "OK" : errname(errno));
    if (s < 0)
        return;
    struct sockaddr_in me;
    socklen_t ml = sizeof me;
    getsockname(s, (struct sockaddr *)&me, &ml);
    char txt[32];
    inet_ntop(AF_INET, &me.sin_addr, txt, sizeof txt);
    printf("name %s port %d; SO_TYPE raw %s, SO_PROTOCOL %d, IP_HDRINCL %d, ICMP_FILTER %d\n", txt,
           ntohs(me.sin_port), yesno(sockopt_int(s, SOL_SOCKET, SO_TYPE) == SOCK_RAW),
           sockopt_int(s, SOL_SOCKET, SO_PROTOCOL), sockopt_int(s, IPPROTO_IP, IP_HDRINCL),
           sockopt_int(s, SOL_RAW, 1));
    unsigned char req[16];
    echo_request(req, raw_id(), 1);
    printf("send without an address: %s\n", res(send(s, req, 16, 0)));
    struct sockaddr_in lo = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &lo.sin_addr);
    printf("sendto 127.0.0.1: %zd\n", sendto(s, req, 16, 0, (struct sockaddr *)&lo, sizeof lo));
    show_raw_packet("first", s);
    show_raw_packet("second", s);
    unsigned char b[64];
    struct sockaddr_in from;
    int inq;
    printf("then: %s\n", recv_ours(s, b, sizeof b, 200, &from, &inq) < 0 ? "nothing" : "a packet");
    /* Only echo replies. */
    unsigned mask = ~1u;
    printf("ICMP_FILTER: %s", res(setsockopt(s, SOL_RAW, 1, &mask, sizeof mask)));
    printf(", reads back %s\n", yesno((unsigned)sockopt_int(s, SOL_RAW, 1) == mask));
    echo_request(req, raw_id(), 2);
    sendto(s, req, 16, 0, (struct sockaddr *)&lo, sizeof lo);
    show_raw_packet("filtered", s);
    show_raw_packet("filtered, then", s);
    /* A short buffer: the packet is cut, MSG_TRUNC says so. */
    echo_request(req, raw_id(), 3);
    sendto(s, req, 16, 0, (struct sockaddr *)&lo, sizeof lo);
    /* Seen with MSG_PEEK first, to know it is ours. */
    ssize_t n = -1;
    struct msghdr m;
    for (int tries = 0; tries < 50; tries++) {
        struct pollfd p = {s, POLLIN, 0};
        if (poll(&p, 1, 1000) != 1)
            break;
        unsigned char head[28];
        int ours = recv(s, head, sizeof head, MSG_PEEK) == 28 && (unsigned)((head[24] << 8) | head[25]) == raw_id();
        struct iovec iov = {b, ours ? 10 : sizeof b};
        m = (struct msghdr){.msg_iov = &iov, .msg_iovlen = 1};
        n = recvmsg(s, &m, 0);
        if (ours)
            break;
        n = -1;
    }
    printf("recvmsg into 10 bytes: %zd, MSG_TRUNC %s\n", n, yesno(n > 0 && (m.msg_flags & MSG_TRUNC)));
    /* Connected: send needs no address; the peer's name has port 0. */
    printf("connect 127.0.0.1: %s", res(connect(s, (struct sockaddr *)&lo, sizeof lo)));
    struct sockaddr_in peer;
    socklen_t pl = sizeof peer;
    /* No port: Linux's inet_getname says ENOTCONN. */
    printf(", getpeername %s\n", res(getpeername(s, (struct sockaddr *)&peer, &pl)));
    echo_request(req, raw_id(), 4);
    printf("send: %s\n", res(send(s, req, 16, 0) == 16 ? 0 : -1));
    show_raw_packet("connected", s);
    close(s);
    /* bind: a local address, or EADDRNOTAVAIL. */
    s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    struct sockaddr_in far = {.sin_family = AF_INET};
    inet_pton(AF_INET, "192.0.2.1", &far.sin_addr);
    printf("bind 192.0.2.1: %s; ", res(bind(s, (struct sockaddr *)&far, sizeof far)));
    printf("bind 127.0.0.1: %s\n", res(bind(s, (struct sockaddr *)&lo, sizeof lo)));
    close(s);
    /* Without CAP_NET_RAW. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        if (setuid(65534) != 0)
            _exit(2);
        int t = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
        printf("as nobody: %s\n", t >= 0 ? "OK" : errname(errno));
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    raw_other_protocol();
}

/* IP_FREEBIND, IPV6_FREEBIND and IP_BIND_ADDRESS_NO_PORT. */
static void bindopts_section(void)
{
    int one = 1;
    /* 192.0.2.1 (TEST-NET-1) is no local address. */
    struct sockaddr_in far = {.sin_family = AF_INET, .sin_port = htons(0)};
    inet_pton(AF_INET, "192.0.2.1", &far.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    printf("bind to 192.0.2.1: %s\n", res(bind(s, (struct sockaddr *)&far, sizeof far)));
    printf("IP_FREEBIND %d", sockopt_int(s, IPPROTO_IP, IP_FREEBIND));
    setsockopt(s, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
    printf(" -> %d\n", sockopt_int(s, IPPROTO_IP, IP_FREEBIND));
    const char *fbound = res(bind(s, (struct sockaddr *)&far, sizeof far));
    printf("with IP_FREEBIND: %s", fbound);
    struct sockaddr_in got;
    socklen_t gl = sizeof got;
    getsockname(s, (struct sockaddr *)&got, &gl);
    char txt[64];
    inet_ntop(AF_INET, &got.sin_addr, txt, sizeof txt);
    printf(", named %s, a port %s\n", txt, yesno(got.sin_port != 0));
    close(s);
    int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 far6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "2001:db8::1", &far6.sin6_addr);
    printf("bind to 2001:db8::1: %s", res(bind(s6, (struct sockaddr *)&far6, sizeof far6)));
    setsockopt(s6, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one);
    int flag6 = sockopt_int(s6, IPPROTO_IPV6, IPV6_FREEBIND);
    printf("; with IPV6_FREEBIND (%d): %s\n", flag6, res(bind(s6, (struct sockaddr *)&far6, sizeof far6)));
    close(s6);

    /* IP_BIND_ADDRESS_NO_PORT: the address now, the port at connect. */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in la = lo4(0);
    bind(l, (struct sockaddr *)&la, sizeof la);
    listen(l, 8);
    la = lo4(port_of(l));
    int c[2];
    for (int i = 0; i < 2; i++) {
        c[i] = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(c[i], IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in me = lo4(0);
        int flag = sockopt_int(c[i], IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT);
        const char *bound = res(bind(c[i], (struct sockaddr *)&me, sizeof me));
        printf("client %d: IP_BIND_ADDRESS_NO_PORT %d, bind 127.0.0.1:0 %s, port %u", i, flag, bound, port_of(c[i]));
        printf(", bind again %s\n", res(bind(c[i], (struct sockaddr *)&me, sizeof me)));
    }
    for (int i = 0; i < 2; i++) {
        printf("client %d: connect %s", i, res(connect(c[i], (struct sockaddr *)&la, sizeof la)));
        struct sockaddr_in peer;
        socklen_t pl = sizeof peer;
        int a = accept(l, (struct sockaddr *)&peer, &pl);
        printf(", a port now %s, the one the server sees %s\n", yesno(port_of(c[i]) != 0),
               yesno(a >= 0 && ntohs(peer.sin_port) == port_of(c[i])));
        close(a);
    }
    printf("two clients, two ports: %s\n", yesno(port_of(c[0]) != port_of(c[1])));
    close(c[0]);
    close(c[1]);
    close(l);
    /* UDP: the first datagram picks it. */
    int r = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ra = lo4(0);
    bind(r, (struct sockaddr *)&ra, sizeof ra);
    ra = lo4(port_of(r));
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    setsockopt(u, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in ua = lo4(0);
    const char *ubound = res(bind(u, (struct sockaddr *)&ua, sizeof ua));
    printf("udp: bind %s, port %u", ubound, port_of(u));
    printf(", sendto %s", res(sendto(u, "x", 1, 0, (struct sockaddr *)&ra, sizeof ra)));
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    char ch;
    recvfrom(r, &ch, 1, 0, (struct sockaddr *)&from, &fl);
    printf(", a port now %s, the one the receiver sees %s\n", yesno(port_of(u) != 0),
           yesno(ntohs(from.sin_port) == port_of(u)));
    close(u);
    close(r);
}

int main(int argc, char **argv)
{
    probe_init();
    if (argc > 2 && strcmp(argv[1], "churn") == 0) {
        churn(atoi(argv[2]));
        printf("ok\n");
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "ports") == 0) {
        ports();
        printf("ok\n");
        return 0;
    }
    static const struct probe_section sections[] = {
        {"tcp", tcp},       {"refused", refused}, {"nonblock", nonblock}, {"udp", udp},
        {"v6", v6},         {"errors", errors},   {"reset", reset},       {"epoll", epoll_section},
        {"edge", edge},     {"flags", flags},     {"limits", limits}, {"opts", opts},     {"big", big},         {"relay", relay},         {"ifaces", ifaces}, {"procnet", procnet},
        {"udpfamily", udpfamily}, {"linger", linger}, {"pktinfo", pktinfo_section},
        {"bindopts", bindopts_section}, {"raw", raw_section}, {NULL, NULL},
    };
    int r = run_sections(argc, argv, sections);
    if (r == 0)
        printf("== done\n");
    return r;
}
